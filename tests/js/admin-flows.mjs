// node admin-flows.mjs <serverURL> <adminEmail> <adminPassword> <flow>
//
// Admin journeys with the official client and its adminClient plugin, unchanged, against our
// server. Prints one JSON document of what was observed; tests/auth/test_js_admin.py asserts on it.

import { createAuthClient } from "better-auth/client";
import { adminClient } from "better-auth/client/plugins";
import { BASE_PATH, Device, runAndPrint, uniqueEmail } from "./lib.mjs";

const [serverURL, adminEmail, adminPassword, flowName] = process.argv.slice(2);
const PASSWORD = "correct horse battery staple";

class AdminDevice extends Device {
  constructor(url, options) {
    super(url, options);
    this.client = createAuthClient({
      baseURL: this.serverURL + BASE_PATH,
      plugins: [adminClient()],
      fetchOptions: { customFetchImpl: (input, init) => this.fetch(input, init) },
    });
  }
}

const brief = (r) => ({ status: r.status, code: r.code });

const flows = {
  async "manage-users"() {
    const admin = new AdminDevice(serverURL, { userAgent: "admin" });
    const adminSignIn = await admin.call("signIn.email", { email: adminEmail, password: adminPassword });
    const email = uniqueEmail("managed");
    const created = await admin.call("admin.createUser", { email, password: PASSWORD, name: "Managed", role: "user" });
    const userId = created.data?.user?.id;

    const user = new AdminDevice(serverURL, { userAgent: "managed" });
    const userSignIn = await user.call("signIn.email", { email, password: PASSWORD });
    const userForbidden = await user.call("admin.listUsers", { query: {} });

    const listed = await admin.call("admin.listUsers", {
      query: { searchValue: email.slice(0, 12), searchField: "email", searchOperator: "starts_with", limit: 10 },
    });
    const got = await admin.call("admin.getUser", { query: { id: userId } });
    const updated = await admin.call("admin.updateUser", { userId, data: { name: "Managed Too" } });
    const badRole = await admin.call("admin.setRole", { userId, role: "wizard" });
    const sessions = await admin.call("admin.listUserSessions", { userId });
    const permission = await admin.call("admin.hasPermission", { permissions: { user: ["ban"] } });
    const userPermission = await user.call("admin.hasPermission", { permissions: { user: ["ban"] } });

    // A ban kills the user's open session at once and blocks sign-in.
    const banned = await admin.call("admin.banUser", { userId, banReason: "testing" });
    const bannedSession = await user.session();
    const bannedSignIn = await user.call("signIn.email", { email, password: PASSWORD });
    const unbanned = await admin.call("admin.unbanUser", { userId });
    const backSignIn = await user.call("signIn.email", { email, password: PASSWORD });

    // Impersonation: the admin's device becomes the user, then returns to itself.
    const adminBefore = await admin.session();
    const impersonated = await admin.call("admin.impersonateUser", { userId });
    const asUser = await admin.session();
    const stopped = await admin.call("admin.stopImpersonating", {});
    const adminAfter = await admin.session();

    const revoked = await admin.call("admin.revokeUserSessions", { userId });
    const afterRevoke = await user.session();
    const password = await admin.call("admin.setUserPassword", { userId, newPassword: "another fine passphrase" });
    const newPassword = await new AdminDevice(serverURL).call("signIn.email", { email, password: "another fine passphrase" });
    const promoted = await admin.call("admin.setRole", { userId, role: "admin" });
    const removed = await admin.call("admin.removeUser", { userId });
    const removedAgain = await admin.call("admin.removeUser", { userId });
    return {
      email,
      adminSignIn: brief(adminSignIn),
      created: { status: created.status, email: created.data?.user?.email, role: created.data?.user?.role },
      userSignIn: brief(userSignIn),
      userForbidden: brief(userForbidden),
      listed: { status: listed.status, emails: (listed.data?.users ?? []).map((u) => u.email),
                total: listed.data?.total, limit: listed.data?.limit ?? null },
      got: { status: got.status, id: got.data?.id ?? null },
      updated: { status: updated.status, name: updated.data?.name ?? null },
      badRole: brief(badRole),
      sessions: { status: sessions.status, count: sessions.data?.sessions?.length ?? 0 },
      permission: permission.data,
      userPermission: userPermission.data,
      banned: { status: banned.status, banned: banned.data?.user?.banned, reason: banned.data?.user?.banReason },
      bannedSession: bannedSession.data,
      bannedSignIn: brief(bannedSignIn),
      unbanned: { status: unbanned.status, banned: unbanned.data?.user?.banned },
      backSignIn: brief(backSignIn),
      impersonated: { status: impersonated.status, email: impersonated.data?.user?.email,
                      impersonatedBy: impersonated.data?.session?.impersonatedBy ?? null },
      adminId: adminBefore.data?.user?.id,
      asUser: { email: asUser.data?.user?.email, impersonatedBy: asUser.data?.session?.impersonatedBy ?? null },
      stopped: { status: stopped.status, email: stopped.data?.user?.email },
      adminAfter: { email: adminAfter.data?.user?.email,
                    sameToken: adminAfter.data?.session?.token === adminBefore.data?.session?.token },
      revoked: revoked.data,
      afterRevoke: afterRevoke.data,
      password: password.data,
      newPassword: brief(newPassword),
      promoted: { status: promoted.status, role: promoted.data?.user?.role },
      removed: removed.data,
      removedAgain: brief(removedAgain),
    };
  },
};

runAndPrint(() => flows[flowName]());
