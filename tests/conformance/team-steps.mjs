// The organization teams steps of scenario.mjs (better-auth's organization({ teams: { enabled: true } })
// next to ours with AUTH__ORGANIZATION__TEAMS__ENABLED): the default team of a new organization,
// create / list / update / remove, membership, the active team, invitations naming a team, and the
// codes of the refusals, with the official client's `organization.*Team*` methods.
//
// `tools` is what scenario.mjs shares: { device, step, PASSWORD, verify } (verify(device, email)
// confirms the device's email through the mailed link).

export async function teamSteps({ device, step, PASSWORD, verify }) {
  const signUp = async (d, email, name) => (await d.do("signUp.email", { email, password: PASSWORD, name })).data?.user?.id;
  const owner = device("team-owner");
  owner.userId = await signUp(owner, "team-owner@example.com", "Team Owner");
  const member = device("team-member");
  member.userId = await signUp(member, "team-member@example.com", "Team Member");
  await verify(member, "team-member@example.com");
  const other = device("team-other");
  other.userId = await signUp(other, "team-other@example.com", "Team Other");
  const nobody = device("team-nobody");

  let orgId = null;
  await step("teams/create-organization", async () => {
    const r = await owner.do("organization.create", { name: "Teams Inc", slug: "teams-inc" });
    orgId = r.data?.id;
    return r;
  });
  await step("teams/get-session-active-team", () => owner.raw("/get-session"));
  let defaultTeam = null;
  await step("teams/list-teams-default", async () => {
    const r = await owner.do("organization.listTeams", { query: {} });
    defaultTeam = r.data?.[0]?.id;
    return r;
  });
  let platform = null;
  await step("teams/create-team", async () => {
    const r = await owner.do("organization.createTeam", { name: "Platform" });
    platform = r.data?.id;
    return r;
  });
  await step("teams/create-team-with-organization-id", () => owner.do("organization.createTeam", { name: "Web", organizationId: orgId }));
  await step("teams/create-team-anonymous", () => nobody.do("organization.createTeam", { name: "Nope" }));
  await step("teams/create-team-no-active-organization", () => other.do("organization.createTeam", { name: "Nope" }));
  await step("teams/create-team-foreign-organization", () => other.do("organization.createTeam", { name: "Nope", organizationId: orgId }));
  await step("teams/update-team", () => owner.do("organization.updateTeam", { teamId: platform, data: { name: "Core" } }));
  await step("teams/update-team-unknown", () => owner.do("organization.updateTeam", { teamId: "x".repeat(32), data: { name: "X" } }));
  await step("teams/list-teams", () => owner.do("organization.listTeams", { query: { organizationId: orgId } }));
  await step("teams/list-teams-foreign", () => other.do("organization.listTeams", { query: { organizationId: orgId } }));
  await step("teams/list-teams-anonymous", () => nobody.do("organization.listTeams", { query: {} }));

  let invitationId = null;
  await step("teams/invite-with-team", async () => {
    const r = await owner.do("organization.inviteMember", { email: "team-member@example.com", role: "member", teamId: platform });
    invitationId = r.data?.id;
    return r;
  });
  await step("teams/invite-invalid-team-id", () => owner.do("organization.inviteMember", { email: "z@example.com", role: "member", teamId: "a,b" }));
  await step("teams/invite-unknown-team", () => owner.do("organization.inviteMember", { email: "z@example.com", role: "member", teamId: "x".repeat(32) }));
  await step("teams/invite-without-team", () => owner.do("organization.inviteMember", { email: "plain@example.com", role: "member" }));
  await step("teams/accept-invitation-with-team", () => member.do("organization.acceptInvitation", { invitationId }));
  await step("teams/get-session-after-accept", () => member.raw("/get-session"));
  await step("teams/list-team-members-active", () => member.do("organization.listTeamMembers", { query: {} }));
  await step("teams/list-team-members", () => owner.do("organization.listTeamMembers", { query: { teamId: defaultTeam } }));
  await step("teams/list-team-members-not-in-team", () => member.do("organization.listTeamMembers", { query: { teamId: defaultTeam } }));
  await step("teams/list-user-teams", () => member.do("organization.listUserTeams", { query: {} }));
  await step("teams/list-user-teams-scoped", () => member.do("organization.listUserTeams", { query: { organizationId: orgId } }));
  await step("teams/list-user-teams-of-member", () => owner.do("organization.listUserTeams", { query: { userId: member.userId } }));
  await step("teams/list-user-teams-of-owner-by-member", () => member.do("organization.listUserTeams", { query: { userId: owner.userId } }));
  await step("teams/set-active-team-not-in-team", () => member.do("organization.setActiveTeam", { teamId: defaultTeam }));
  await step("teams/create-team-by-member", () => member.do("organization.createTeam", { name: "Mine" }));
  await step("teams/update-team-by-member", () => member.do("organization.updateTeam", { teamId: platform, data: { name: "Mine" } }));
  await step("teams/remove-team-by-member", () => member.do("organization.removeTeam", { teamId: defaultTeam }));
  await step("teams/add-team-member-by-member", () => member.do("organization.addTeamMember", { teamId: defaultTeam, userId: member.userId }));
  await step("teams/add-team-member", () => owner.do("organization.addTeamMember", { teamId: defaultTeam, userId: member.userId }));
  await step("teams/add-team-member-again", () => owner.do("organization.addTeamMember", { teamId: defaultTeam, userId: member.userId }));
  await step("teams/add-team-member-not-in-organization", () => owner.do("organization.addTeamMember", { teamId: defaultTeam, userId: other.userId }));
  await step("teams/set-active-team", () => member.do("organization.setActiveTeam", { teamId: defaultTeam }));
  await step("teams/set-active-team-keep", () => member.raw("/organization/set-active-team", { method: "POST", body: {} }));
  await step("teams/set-active-team-null", () => member.do("organization.setActiveTeam", { teamId: null }));
  await step("teams/set-active-team-null-again", () => member.do("organization.setActiveTeam", { teamId: null }));
  await step("teams/remove-team-member-by-member", () => member.do("organization.removeTeamMember", { teamId: defaultTeam, userId: member.userId }));
  await step("teams/remove-team-member", () => owner.do("organization.removeTeamMember", { teamId: defaultTeam, userId: member.userId }));
  await step("teams/remove-team-member-again", () => owner.do("organization.removeTeamMember", { teamId: defaultTeam, userId: member.userId }));
  await step("teams/get-full-organization", () => owner.do("organization.getFullOrganization", { query: { organizationId: orgId } }));

  // another organization's owner, acting in theirs, names this organization's team
  await other.do("organization.create", { name: "Elsewhere", slug: "elsewhere" });
  await step("teams/foreign-update-team", () => other.do("organization.updateTeam", { teamId: platform, data: { name: "Pwned" } }));
  await step("teams/foreign-remove-team", () => other.do("organization.removeTeam", { teamId: platform }));
  await step("teams/foreign-set-active-team", () => other.do("organization.setActiveTeam", { teamId: platform }));
  await step("teams/foreign-add-team-member", () => other.do("organization.addTeamMember", { teamId: platform, userId: other.userId }));
  await step("teams/foreign-list-team-members", () => other.do("organization.listTeamMembers", { query: { teamId: platform } }));

  await step("teams/remove-active-team", () => owner.do("organization.removeTeam", { teamId: defaultTeam }));
  await step("teams/remove-team", () => owner.do("organization.removeTeam", { teamId: platform }));
  await step("teams/remove-team-unknown", () => owner.do("organization.removeTeam", { teamId: "x".repeat(32) }));
  await owner.do("organization.setActiveTeam", { teamId: null });
  const rest = (await owner.do("organization.listTeams", { query: {} })).data ?? [];
  for (const team of rest.slice(1)) await owner.do("organization.removeTeam", { teamId: team.id });
  await step("teams/remove-last-team", () => owner.do("organization.removeTeam", { teamId: rest[0]?.id }));
  await step("teams/list-team-members-no-active-team", () => owner.do("organization.listTeamMembers", { query: {} }));
}
