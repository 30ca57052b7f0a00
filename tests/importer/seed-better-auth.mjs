// node seed-better-auth.mjs sqlite <path> | postgres <url>
//
// A real better-auth 1.7.25 (plugins bearer, twoFactor, admin, organization with teams, apiKey,
// jwt) on a fresh SQLite file or PostgreSQL database: its own migrations create the schema, then
// the official client (with its plugin clients) over HTTP creates what a running deployment has:
// users with passwords, a verified user with TOTP and backup codes, an organization with members,
// a pending invitation and a team, an API key, a signed-in session, a JWT, a banned user, an
// OAuth account whose tokens better-auth encrypted, an expired session and a password-reset token.
// Prints one JSON line of what the Python side needs to check the import (secrets, codes, cookie).
// Environment: BA_SECRET (better-auth's secret); KC_ISSUER (optional): an OpenID provider
// (tests/js/oidc-provider.mjs, Keycloak-shaped) where this better-auth registers itself as a client
// and signs up erin (login "erin") through the genericOAuth keycloak provider.

import { createServer } from "node:http";
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
import { Device, runAndPrint } from "../js/lib.mjs";

const fromJs = createRequire(new URL("../js/package.json", import.meta.url));
const fromHere = createRequire(new URL("./js/package.json", import.meta.url));
const load = (req, name) => import(pathToFileURL(req.resolve(name)).href);

const [kind, target] = process.argv.slice(2);
const SECRET = process.env.BA_SECRET;
const PASSWORDS = {
  "admin@example.com": "admin password 0001",
  "alice@example.com": "alice password 0002",
  "bob@example.com": "bob password 0003",
  "carol@example.com": "carol password 0004",
};

const { betterAuth } = await load(fromJs, "better-auth");
const { toNodeHandler } = await load(fromJs, "better-auth/node");
const { getMigrations } = await load(fromJs, "better-auth/db/migration");
const { symmetricEncrypt } = await load(fromJs, "better-auth/crypto");
const { bearer, twoFactor, admin, organization, jwt, genericOAuth, keycloak } = await load(fromJs, "better-auth/plugins");
const { apiKey } = await load(fromJs, "@better-auth/api-key");
const { createAuthClient } = await load(fromJs, "better-auth/client");
const { twoFactorClient, organizationClient, adminClient, jwtClient } = await load(fromJs, "better-auth/client/plugins");
const { apiKeyClient } = await load(fromJs, "@better-auth/api-key/client");
const { createOTP } = await load(fromJs, "@better-auth/utils/otp");
const { base32 } = await load(fromJs, "@better-auth/utils/base32");

let database;
if (kind === "sqlite") {
  const Database = (await load(fromHere, "better-sqlite3")).default;
  database = new Database(target);
} else {
  const pg = (await load(fromHere, "pg")).default;
  database = new pg.Pool({ connectionString: target });
}

const server = createServer();
await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
const origin = `http://127.0.0.1:${server.address().port}`;
let resetToken = null;
const issuer = process.env.KC_ISSUER;
const oauthPlugins = [];
if (issuer) {
  const registered = await fetch(issuer + "/reg", {
    method: "POST", headers: { "content-type": "application/json" },
    body: JSON.stringify({
      redirect_uris: [origin + "/api/auth/callback/keycloak"], response_types: ["code"],
      grant_types: ["authorization_code", "refresh_token"], token_endpoint_auth_method: "client_secret_post",
    }),
  }).then((r) => r.json());
  oauthPlugins.push(genericOAuth({ config: [keycloak({ clientId: registered.client_id, clientSecret: registered.client_secret, issuer })] }));
}

const auth = betterAuth({
  baseURL: origin,
  secret: SECRET,
  database,
  logger: { disabled: true },
  rateLimit: { enabled: false },
  account: { encryptOAuthTokens: true },
  emailAndPassword: {
    enabled: true,
    sendResetPassword: async ({ token }) => { resetToken = token; },
  },
  user: { additionalFields: { firstname: { type: "string", required: false } } },
  plugins: [
    bearer(), twoFactor(), admin(), organization({ teams: { enabled: true } }),
    apiKey({ enableMetadata: true }), jwt(), ...oauthPlugins,
  ],
});
const { runMigrations } = await getMigrations(auth.options);
await runMigrations();
server.on("request", toNodeHandler(auth));
const context = await auth.$context;

function device() {
  const d = new Device(origin);
  d.client = createAuthClient({
    baseURL: origin + "/api/auth",
    plugins: [twoFactorClient(), organizationClient({ teams: { enabled: true } }), adminClient(), apiKeyClient(), jwtClient()],
    fetchOptions: { customFetchImpl: (input, init) => d.fetch(input, init) },
  });
  return d;
}

async function must(d, method, arg) {
  const result = await d.call(method, arg);
  if (!result.ok) throw new Error(`${method}: ${result.status} ${result.code} ${result.message}`);
  return result.data;
}

runAndPrint(async () => {
  await auth.api.createUser({ body: { email: "admin@example.com", password: PASSWORDS["admin@example.com"], name: "Admin", role: "admin" } });
  const adminDevice = device();
  await must(adminDevice, "signIn.email", { email: "admin@example.com", password: PASSWORDS["admin@example.com"] });

  const alice = device();
  const aliceUser = (await must(alice, "signUp.email", { email: "alice@example.com", password: PASSWORDS["alice@example.com"], name: "Alice", firstname: "Ada" })).user;
  await context.internalAdapter.updateUser(aliceUser.id, { emailVerified: true });
  const enabled = await must(alice, "twoFactor.enable", { password: PASSWORDS["alice@example.com"] });
  const totpSecret = new TextDecoder().decode(base32.decode(new URL(enabled.totpURI).searchParams.get("secret")));
  await must(alice, "twoFactor.verifyTotp", { code: await createOTP(totpSecret).totp() });

  const bob = device();
  const bobUser = (await must(bob, "signUp.email", { email: "bob@example.com", password: PASSWORDS["bob@example.com"], name: "Bob" })).user;
  const carol = device();
  const carolUser = (await must(carol, "signUp.email", { email: "carol@example.com", password: PASSWORDS["carol@example.com"], name: "Carol" })).user;

  const org = await must(alice, "organization.create", { name: "Acme", slug: "acme", metadata: { plan: "pro" } });
  const invite = await must(alice, "organization.inviteMember", { email: "bob@example.com", role: "admin", organizationId: org.id });
  await must(bob, "organization.acceptInvitation", { invitationId: invite.id });
  const pending = await must(alice, "organization.inviteMember", { email: "dave@example.com", role: "member", organizationId: org.id });
  const team = await must(alice, "organization.createTeam", { name: "Platform", organizationId: org.id });

  const key = await must(alice, "apiKey.create", { name: "ci", prefix: "ba_", metadata: { env: "ci" } });

  // bob's browser: a fresh sign-in whose cookie must keep working after the move, and a JWT.
  const bobBrowser = device();
  await must(bobBrowser, "signIn.email", { email: "bob@example.com", password: PASSWORDS["bob@example.com"] });
  const sessionCookie = bobBrowser.jar.get("better-auth.session_token");
  const tokenResponse = await bobBrowser.fetch(origin + "/api/auth/token");
  const jwtToken = (await tokenResponse.json()).token;

  // An expired session (skipped by the import), of bob's.
  const stale = await context.internalAdapter.createSession(bobUser.id);
  await context.adapter.update({ model: "session", where: [{ field: "id", value: stale.id }], update: { expiresAt: new Date(Date.now() - 60000) } });
  await must(adminDevice, "admin.banUser", { userId: carolUser.id, banReason: "spam" });

  // An OAuth account as the keycloak provider leaves it with encryptOAuthTokens (better-auth's own cipher).
  const encrypt = (data) => symmetricEncrypt({ key: SECRET, data });
  await context.internalAdapter.createAccount({
    userId: bobUser.id, providerId: "keycloak", accountId: "kc-sub-bob",
    accessToken: await encrypt("kc-access-token-bob"), refreshToken: await encrypt("kc-refresh-token-bob"),
    idToken: null, scope: "openid,profile,email", accessTokenExpiresAt: new Date(Date.now() + 300000),
  });
  // A live password-reset token (carried over).
  await must(device(), "requestPasswordReset", { email: "carol@example.com", redirectTo: "/reset" });

  // erin signs up through Keycloak: better-auth encrypts her provider tokens (encryptOAuthTokens).
  let erin = null;
  if (issuer) {
    const browser = device();
    const started = await must(browser, "signIn.social", { provider: "keycloak", callbackURL: "/" });
    const idp = new Device(issuer, { origin: null });
    let url = started.url;
    for (let hop = 0; hop < 20 && !url.startsWith(origin); hop++) {
      const response = await idp.fetch(url, { redirect: "manual" });
      if (response.status >= 300 && response.status < 400) { url = new URL(response.headers.get("location"), url).href; continue; }
      const { uid } = await response.json();
      const login = await idp.fetch(`${issuer}/interaction/${uid}/login`, {
        method: "POST", redirect: "manual", body: new URLSearchParams({ login: "erin" }),
      });
      url = new URL(login.headers.get("location"), url).href;
    }
    const callback = await browser.fetch(url, { redirect: "manual" });
    if (callback.status !== 302) throw new Error(`keycloak callback: ${callback.status} ${await callback.text()}`);
    const session = await browser.session();
    const [linked] = await must(browser, "listAccounts");
    const tokens = await must(browser, "getAccessToken", { accountId: linked.id });
    erin = { id: session.data.user.id, email: session.data.user.email, accessToken: tokens.accessToken };
  }

  const get = await bobBrowser.session();
  server.close();
  if (database.end) await database.end();
  else database.close();
  return {
    origin, secret: SECRET, passwords: PASSWORDS, totpSecret, backupCodes: enabled.backupCodes,
    apiKey: key.key, sessionCookie, erin, sessionUserEmail: get.data?.user?.email, jwt: jwtToken, resetToken,
    ids: { alice: aliceUser.id, bob: bobUser.id, carol: carolUser.id, org: org.id, team: team.id, pending: pending.id, apiKey: key.id },
  };
});
