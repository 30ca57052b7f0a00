// node organization-flows.mjs <serverURL> <outboxPath> <flow>
//
// The official better-auth client with its unchanged organizationClient plugin against our server.
// Prints one JSON document of what it observed; tests/auth/test_js_organization.py asserts on it.

import { createAuthClient } from "better-auth/client";
import { organizationClient } from "better-auth/client/plugins";
import { BASE_PATH, Device, readOutbox, runAndPrint, uniqueEmail, waitForMail } from "./lib.mjs";

const [serverURL, outboxPath, flowName] = process.argv.slice(2);
const PASSWORD = "correct horse battery staple";

/** A Device whose client also carries organizationClient(). */
class OrgDevice extends Device {
  constructor(url, options) {
    super(url, options);
    this.client = createAuthClient({
      baseURL: this.serverURL + BASE_PATH,
      plugins: [organizationClient()],
      fetchOptions: { customFetchImpl: (input, init) => this.fetch(input, init) },
    });
  }
}

function brief(result) {
  return { status: result.status, code: result.code, data: result.data };
}

const flows = {
  async lifecycle() {
    const owner = new OrgDevice(serverURL, { userAgent: "owner" });
    const second = new OrgDevice(serverURL, { userAgent: "second" });
    const ownerEmail = uniqueEmail("owner");
    const secondEmail = uniqueEmail("second");
    const slug = `org-${Date.now().toString(36)}`;
    const out = { ownerEmail, secondEmail, slug };

    await owner.call("signUp.email", { email: ownerEmail, password: PASSWORD, name: "Owner" });
    await second.call("signUp.email", { email: secondEmail, password: PASSWORD, name: "Second" });
    // Invitations are for verified addresses: the second user follows the mailed verification link.
    await second.call("sendVerificationEmail", { email: secondEmail });
    const verification = await waitForMail(outboxPath, secondEmail);
    out.verified = (await second.get(verification.url)).status;

    out.checkSlugFree = brief(await owner.call("organization.checkSlug", { slug }));
    const created = await owner.call("organization.create", { name: "Acme", slug, metadata: { plan: "pro" } });
    out.create = brief(created);
    const orgId = created.data?.id;
    out.checkSlugTaken = brief(await owner.call("organization.checkSlug", { slug }));
    out.ownerSession = (await owner.session()).data?.session?.activeOrganizationId ?? null;
    out.list = brief(await owner.call("organization.list"));

    const mailsBefore = readOutbox(outboxPath).length;
    const invited = await owner.call("organization.inviteMember", { email: secondEmail, role: "member" });
    out.invite = brief(invited);
    const mail = await waitForMail(outboxPath, secondEmail, { after: mailsBefore });
    out.mailHasId = Boolean(invited.data && mail.url.includes(invited.data.id));
    out.getInvitation = brief(await second.call("organization.getInvitation", { query: { id: invited.data.id } }));
    out.strangerInvitation = brief(await owner.call("organization.getInvitation", { query: { id: invited.data.id } }));
    out.accept = brief(await second.call("organization.acceptInvitation", { invitationId: invited.data.id }));
    out.secondSession = (await second.session()).data?.session?.activeOrganizationId ?? null;

    out.members = brief(await owner.call("organization.listMembers", { query: { organizationId: orgId } }));
    out.full = brief(await second.call("organization.getFullOrganization", { query: { organizationId: orgId } }));
    out.activeMember = brief(await second.call("organization.getActiveMember"));
    const secondMember = out.members.data?.members?.find((m) => m.user.email === secondEmail);

    out.memberCanDelete = brief(await second.call("organization.hasPermission", { permissions: { project: ["delete"] } }));
    out.memberCanRead = brief(await second.call("organization.hasPermission", { permissions: { project: ["read"] } }));
    out.memberUpdatesRole = brief(
      await second.call("organization.updateMemberRole", { memberId: secondMember.id, role: "admin" }),
    );
    out.updateRole = brief(
      await owner.call("organization.updateMemberRole", { memberId: secondMember.id, role: "admin", organizationId: orgId }),
    );
    out.activeRole = brief(await second.call("organization.getActiveMemberRole"));
    out.adminCanDelete = brief(await second.call("organization.hasPermission", { permissions: { project: ["delete"] } }));
    out.adminCanDeleteOrg = brief(
      await second.call("organization.hasPermission", { permissions: { organization: ["delete"] } }),
    );
    out.clientCheck = owner.client.organization.checkRolePermission({ role: "admin", permissions: { organization: ["delete"] } });

    out.remove = brief(await owner.call("organization.removeMember", { memberIdOrEmail: secondEmail, organizationId: orgId }));
    out.afterRemove = brief(await second.call("organization.listMembers", { query: { organizationId: orgId } }));

    const again = await owner.call("organization.inviteMember", { email: secondEmail, role: "member", organizationId: orgId });
    await second.call("organization.acceptInvitation", { invitationId: again.data.id });
    out.leave = brief(await second.call("organization.leave", { organizationId: orgId }));
    out.ownerLeave = brief(await owner.call("organization.leave", { organizationId: orgId }));
    out.membersAfterLeave = (await owner.call("organization.listMembers", { query: { organizationId: orgId } })).data?.total ?? null;

    out.setActiveNull = brief(await owner.call("organization.setActive", { organizationId: null }));
    out.setActive = brief(await owner.call("organization.setActive", { organizationId: orgId }));
    out.delete = brief(await owner.call("organization.delete", { organizationId: orgId }));
    out.listAfterDelete = brief(await owner.call("organization.list"));
    out.sessionAfterDelete = (await owner.session()).data?.session?.activeOrganizationId ?? null;
    return out;
  },
};

runAndPrint(() => flows[flowName]());
