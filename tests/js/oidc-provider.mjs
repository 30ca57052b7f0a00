// A Keycloak-shaped OpenID provider for the tests: the certified `oidc-provider`, run by node.
//
// Usage: node oidc-provider.mjs            (listens on a free port of 127.0.0.1)
// Prints one JSON line on stdout once listening: {"issuer": "http://127.0.0.1:<port>"}.
//
// What makes it Keycloak-shaped: accounts carry given/family names, email and email_verified,
// realm roles in `realm_access.roles` (and the flat `realm_roles` variant), and groups with a
// leading "/" in `groups`; these claims ride in the ID token (as Keycloak's mappers put them).
//
// Test-only endpoints (no browser needed):
//   PUT  /admin/accounts            body {"<login>": {sub, email, ...}}: replaces the accounts;
//                                   read at every token issuance, so a change shows at the next sign-in
//   GET  /interaction/:uid          JSON {uid, prompt}
//   POST /interaction/:uid/login    form or JSON {login}: signs that account in, 303 back to the flow
//   POST /interaction/:uid/abort    ends the flow with access_denied
// Clients register themselves with OpenID Connect Dynamic Client Registration (POST /reg).
import http from "node:http";
import { generateKeyPair, exportJWK } from "jose";
import Provider from "oidc-provider";

let accounts = {};
const CLAIMS = [
  "email", "email_verified", "name", "given_name", "family_name", "picture", "preferred_username",
  "realm_access", "realm_roles", "groups",
];

function accountBySub(sub) {
  return Object.values(accounts).find((account) => account.sub === sub);
}

async function readBody(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  const raw = Buffer.concat(chunks).toString("utf8");
  if ((req.headers["content-type"] || "").includes("application/json")) return raw ? JSON.parse(raw) : {};
  return Object.fromEntries(new URLSearchParams(raw));
}

function send(res, status, body) {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

const { privateKey } = await generateKeyPair("RS256", { extractable: true });
const signingKey = { ...(await exportJWK(privateKey)), kid: "test-rs256", alg: "RS256", use: "sig" };

const server = http.createServer();
await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  jwks: { keys: [signingKey] },
  cookies: { keys: ["oidc-test-cookie-key-0123456789"] },
  claims: {
    openid: ["sub"],
    email: ["email", "email_verified"],
    profile: ["name", "given_name", "family_name", "picture", "preferred_username", "realm_access", "realm_roles", "groups"],
  },
  // Keycloak puts the mapped claims in the ID token even when an access token is issued.
  conformIdTokenClaims: false,
  features: {
    devInteractions: { enabled: false },
    registration: { enabled: true },
  },
  pkce: { required: () => true },
  // Keycloak hands a refresh token to every confidential client allowed the grant (no offline_access needed).
  issueRefreshToken: async (ctx, client) => client.grantTypeAllowed("refresh_token"),
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  async findAccount(ctx, sub) {
    if (!accountBySub(sub)) return undefined;
    return {
      accountId: sub,
      async claims() {
        const account = accountBySub(sub) || { sub };
        const out = { sub };
        for (const claim of CLAIMS) if (account[claim] !== undefined) out[claim] = account[claim];
        return out;
      },
    };
  },
  // First-party client: no consent screen (the oidc-provider recipe "skip consent").
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) {
      const found = await ctx.oidc.provider.Grant.find(grantId);
      if (found) return found;
    }
    const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
    grant.addOIDCScope(ctx.oidc.params.scope || "openid");
    await grant.save();
    return grant;
  },
});
provider.on("server_error", (ctx, error) => console.error("oidc-provider server_error", error));

const providerCallback = provider.callback();

async function handleInteraction(req, res, uid, action) {
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) return send(res, 400, { error: "interaction mismatch" });
  if (!action && req.method === "GET") return send(res, 200, { uid, prompt: details.prompt.name });
  if (req.method !== "POST") return send(res, 405, { error: "method not allowed" });
  const body = await readBody(req);
  if (action === "abort") {
    return provider.interactionFinished(req, res, { error: "access_denied", error_description: "aborted" }, {
      mergeWithLastSubmission: false,
    });
  }
  const account = accounts[body.login];
  if (!account) return send(res, 401, { error: "unknown login" });
  return provider.interactionFinished(req, res, { login: { accountId: account.sub } }, { mergeWithLastSubmission: false });
}

server.on("request", async (req, res) => {
  try {
    const url = new URL(req.url, issuer);
    if (url.pathname === "/admin/accounts" && req.method === "PUT") {
      accounts = await readBody(req);
      return send(res, 200, { ok: true, count: Object.keys(accounts).length });
    }
    const match = url.pathname.match(/^\/interaction\/([^/]+)(?:\/(login|abort))?$/);
    if (match) return await handleInteraction(req, res, match[1], match[2]);
    return providerCallback(req, res);
  } catch (error) {
    console.error(error);
    if (!res.headersSent) send(res, 500, { error: String(error) });
  }
});

process.on("SIGTERM", () => server.close(() => process.exit(0)));
console.log(JSON.stringify({ issuer }));
