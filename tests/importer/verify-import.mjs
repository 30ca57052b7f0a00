// node verify-import.mjs <ourServerURL> <seed.json>
//
// After the import: the official client (with its plugin clients), against our server, does what
// the users of the better-auth deployment will do the morning after the move. Prints one JSON line
// of outcomes; tests/importer/test_import_better_auth.py asserts on them.

import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
import { Device, runAndPrint } from "../js/lib.mjs";

const fromJs = createRequire(new URL("../js/package.json", import.meta.url));
const load = (name) => import(pathToFileURL(fromJs.resolve(name)).href);
const { createAuthClient } = await load("better-auth/client");
const { twoFactorClient, organizationClient, jwtClient } = await load("better-auth/client/plugins");
const { apiKeyClient } = await load("@better-auth/api-key/client");
const { createOTP } = await load("@better-auth/utils/otp");
const { createLocalJWKSet, jwtVerify } = await load("jose");

const [serverURL, seedPath] = process.argv.slice(2);
const seed = JSON.parse(readFileSync(seedPath, "utf8"));
const BASE = "/api/v1/auth";

function device(options) {
  const d = new Device(serverURL, options);
  d.client = createAuthClient({
    baseURL: serverURL + BASE,
    plugins: [twoFactorClient(), organizationClient(), apiKeyClient(), jwtClient()],
    fetchOptions: { customFetchImpl: (input, init) => d.fetch(input, init) },
  });
  return d;
}
const brief = (r) => ({ status: r.status, code: r.code, data: r.data });

runAndPrint(async () => {
  const out = { signIn: {} };
  for (const email of ["admin@example.com", "bob@example.com", "carol@example.com"]) {
    out.signIn[email] = brief(await device().call("signIn.email", { email, password: seed.passwords[email] }));
  }
  out.wrongPassword = brief(await device().call("signIn.email", { email: "bob@example.com", password: "not the password" }));

  // alice: password, then the TOTP of the secret better-auth gave her authenticator app.
  const alice = device();
  out.aliceChallenge = brief(await alice.call("signIn.email", { email: "alice@example.com", password: seed.passwords["alice@example.com"] }));
  out.aliceTotp = brief(await alice.call("twoFactor.verifyTotp", { code: await createOTP(seed.totpSecret).totp() }));
  // ... and on another device an unused backup code, which then is used up.
  const other = device();
  await other.call("signIn.email", { email: "alice@example.com", password: seed.passwords["alice@example.com"] });
  out.backupCode = brief(await other.call("twoFactor.verifyBackupCode", { code: seed.backupCodes[3] }));
  const third = device();
  await third.call("signIn.email", { email: "alice@example.com", password: seed.passwords["alice@example.com"] });
  out.backupCodeAgain = brief(await third.call("twoFactor.verifyBackupCode", { code: seed.backupCodes[3] }));

  // bob's browser still holds the cookie better-auth set.
  const bobBrowser = device();
  bobBrowser.jar.cookies.set("better-auth.session_token", seed.sessionCookie);
  out.oldCookie = brief(await bobBrowser.session());

  // alice's API key, as the key header of a session request.
  const keyed = device({ headers: { "x-api-key": seed.apiKey } });
  out.apiKey = brief(await keyed.session());

  // the JWT better-auth issued, against our /jwks.
  const jwks = await (await fetch(serverURL + BASE + "/jwks")).json();
  try {
    const { payload } = await jwtVerify(seed.jwt, createLocalJWKSet(jwks), { issuer: seed.origin, audience: seed.origin });
    out.jwt = { ok: true, sub: payload.sub, email: payload.email };
  } catch (error) {
    out.jwt = { ok: false, error: String(error) };
  }

  // memberships and roles, as alice (owner) and bob (admin) see them.
  out.aliceOrgs = brief(await alice.call("organization.list"));
  out.fullOrg = brief(await alice.call("organization.getFullOrganization", { query: { organizationId: seed.ids.org } }));
  const bob = device();
  await bob.call("signIn.email", { email: "bob@example.com", password: seed.passwords["bob@example.com"] });
  await bob.call("organization.setActive", { organizationId: seed.ids.org });
  out.bobRole = brief(await bob.call("organization.getActiveMemberRole"));

  // the password-reset link mailed by better-auth still leads to the reset form (not consumed).
  const link = await device().get(`${serverURL}${BASE}/reset-password/${seed.resetToken}?callbackURL=/reset`);
  out.resetLink = { status: link.status, location: link.headers.get("location") };
  return out;
});
