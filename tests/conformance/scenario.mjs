// node scenario.mjs <serverURL> <outboxPath> <adminEmail> <adminPassword>
//
// One fixed sequence of requests, sent with the official better-auth client (all plugin clients
// loaded) or with raw fetch where the client cannot express the request. Run once against a real
// better-auth server (reference-server.mjs) and once against ours; each step prints a normalised
// observation (status, body shape and stable values, protocol headers, cookies) so that the two
// runs can be diffed key by key (test_against_better_auth.py). Nothing here decides pass or fail.
//
// Normalisation: the server's origin becomes "<origin>"; ISO dates "<date>"; 32-char ids and
// session tokens "<id32>"; signed tokens "<signed>"; JWTs "<jwt>"; other random material (API keys,
// TOTP URIs, backup codes, reset tokens) a type marker. Emails and names are fixed, so they compare.

import { load } from "./deps.mjs";
import { BASE_PATH, Device, readOutbox } from "../js/lib.mjs";

const [serverURL, outboxPath, adminEmail, adminPassword] = process.argv.slice(2);
const AUTH = serverURL.replace(/\/+$/, "") + BASE_PATH;
const ORIGIN = new URL(serverURL).origin;
const PASSWORD = "correct horse battery staple";
const NEW_PASSWORD = "a whole new passphrase 42";

const { createAuthClient } = await load("better-auth/client");
const { twoFactorClient, adminClient, organizationClient, jwtClient } = await load("better-auth/client/plugins");
const { apiKeyClient } = await load("@better-auth/api-key/client");
const { createOTP } = await load("@better-auth/utils/otp");
const { base32 } = await load("@better-auth/utils/base32");

// -- normalisation ----------------------------------------------------------------------------

const ISO_MS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const DATE_LIKE = /^\d{4}-\d\d-\d\d[T ]\d\d:\d\d/;
const JWT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
const ID32 = /^[A-Za-z0-9]{32}$/;
const SIGNED = /^[A-Za-z0-9_-]{16,}\.[A-Za-z0-9+/]{43}=$/;
const TIME_KEYS = new Set(["iat", "exp", "nbf"]);
const RANDOM_KEYS = new Set(["key", "start", "secret", "totpURI", "backupCodes", "x", "kid", "token", "id"]);

function normString(value, key) {
  let s = value.split(ORIGIN).join("<origin>");
  if (ISO_MS.test(s)) return "<date>";
  if (DATE_LIKE.test(s)) return `<date-nonstandard:${s.replace(/\d/g, "9")}>`;
  if (JWT.test(s) && s.length > 40) return "<jwt>";
  if (ID32.test(s)) return "<id32>";
  if (SIGNED.test(s)) return "<signed>";
  if (key === "totpURI") return s.replace(/secret=[A-Z2-7]+/, "secret=<base32>");
  if (RANDOM_KEYS.has(key)) return `<random:${s.length}>`;
  if (s.includes("<origin>") || s.startsWith("/")) {
    s = s.replace(/[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{20,}/g, "<jwt>");
    s = s.replace(/[A-Za-z0-9]{20,}/g, "<tok>");
  }
  return s;
}

export function norm(value, key = "") {
  if (value === null) return null;
  if (value === undefined) return "<undefined>";
  if (Array.isArray(value)) return value.map((item) => norm(item, key));
  if (typeof value === "object") {
    const out = {};
    for (const k of Object.keys(value).sort()) out[k] = norm(value[k], k);
    return out;
  }
  if (typeof value === "string") return normString(value, key);
  if (typeof value === "number" && TIME_KEYS.has(key)) return "<timestamp>";
  return value; // numbers, booleans: stable across the two runs
}

function normCookie(line) {
  const [pair, ...attrs] = line.split(";");
  const eq = pair.indexOf("=");
  const name = pair.slice(0, eq).trim();
  const raw = pair.slice(eq + 1).trim();
  let value = raw === "" ? "<empty>" : "<value>";
  const decoded = decodeURIComponent(raw);
  if (SIGNED.test(decoded) || /^[^.]+\.[A-Za-z0-9+/]{43}=$/.test(decoded)) value = "<signed>";
  const attributes = attrs
    .map((a) => a.trim())
    .filter(Boolean)
    .map((a) => {
      const [k, ...rest] = a.split("=");
      const key = k.toLowerCase();
      if (key === "expires") return "expires=<date>";
      return rest.length ? `${key}=${rest.join("=")}` : key;
    })
    .sort();
  return [name, { value, attributes }];
}

function normHeaders(headers) {
  const out = {};
  const token = headers.get("set-auth-token");
  if (token !== null) out["set-auth-token"] = normString(token, "token");
  const jwt = headers.get("set-auth-jwt");
  if (jwt !== null) out["set-auth-jwt"] = normString(jwt, "token");
  const expose = headers.get("access-control-expose-headers");
  if (expose !== null) out["access-control-expose-headers"] = expose.split(",").map((h) => h.trim().toLowerCase()).filter(Boolean).sort().join(",");
  const location = headers.get("location");
  if (location !== null) out.location = normString(location, "location");
  for (const name of ["cache-control", "pragma"]) {
    const value = headers.get(name);
    if (value !== null) out[name] = value;
  }
  const type = headers.get("content-type");
  out["content-type"] = type === null ? null : type.split(";")[0].trim().toLowerCase();
  const cookies = {};
  for (const line of headers.getSetCookie()) {
    const [name, info] = normCookie(line);
    cookies[name] = info;
  }
  out["set-cookie"] = cookies;
  return out;
}

async function observe(response) {
  const text = await response.text();
  let body;
  if (text === "") body = "<empty>";
  else {
    try {
      body = norm(JSON.parse(text));
    } catch {
      body = `<non-json:${text.length}>`;
    }
  }
  return { status: response.status, body, headers: normHeaders(response.headers) };
}

// -- devices -------------------------------------------------------------------------------

/** A simulated browser whose client carries every plugin client; keeps a clone of the last response. */
class FullDevice extends Device {
  constructor(options = {}) {
    super(serverURL, options);
    this.redirects = [];
    this.client = createAuthClient({
      baseURL: this.serverURL + BASE_PATH,
      plugins: [
        twoFactorClient({ onTwoFactorRedirect: () => this.redirects.push(true) }),
        adminClient(),
        organizationClient(),
        apiKeyClient(),
        jwtClient(),
      ],
      fetchOptions: { customFetchImpl: (input, init) => this.fetch(input, init) },
    });
  }

  async fetch(input, init = {}) {
    const response = await super.fetch(input, init);
    this.last = response.clone();
    return response;
  }

  /** A client call, observed from the raw response; `data` is what the client returned. */
  async do(method, arg) {
    this.last = null;
    const fn = method.split(".").reduce((obj, key) => obj[key], this.client);
    const result = await fn(arg);
    if (!this.last) return { status: null, clientError: norm(result.error ?? null) };
    const observation = await observe(this.last);
    observation.clientError = result.error ? { status: result.error.status, code: result.error.code ?? null } : null;
    return { ...observation, data: result.data };
  }

  /** A raw request (path under the auth base or an absolute URL) with this device's cookies. */
  async raw(path, { method = "GET", body, contentType = "application/json", headers = {} } = {}) {
    const url = path.startsWith("http") ? path : AUTH + path;
    const init = { method, redirect: "manual", headers: { ...headers } };
    if (body !== undefined) {
      init.body = typeof body === "string" ? body : JSON.stringify(body);
      if (contentType) init.headers["content-type"] = contentType;
    }
    return observe(await this.fetch(url, init));
  }

  clone() {
    const copy = new FullDevice({ origin: this.origin, userAgent: this.userAgent });
    for (const [k, v] of this.jar.cookies) copy.jar.cookies.set(k, v);
    return copy;
  }
}

const device = (label, options = {}) => new FullDevice({ userAgent: `conformance-${label}`, ...options });

function mailTo(to, after = 0) {
  const mails = readOutbox(outboxPath).slice(after).filter((m) => m.to === to);
  return mails.length ? mails[mails.length - 1] : null;
}

async function waitMail(to, after) {
  for (let i = 0; i < 100; i++) {
    const mail = mailTo(to, after);
    if (mail) return mail;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no mail to ${to}`);
}

const mailCount = () => readOutbox(outboxPath).length;

function secretOf(totpURI) {
  return new TextDecoder().decode(base32.decode(new URL(totpURI).searchParams.get("secret")));
}

const totp = (secret, ahead = 0) => createOTP(secret).hotp(Math.floor(Date.now() / 30000) + ahead);

function decodeJwt(token) {
  const [header, payload] = token.split(".").slice(0, 2).map((part) => JSON.parse(Buffer.from(part, "base64url").toString()));
  return { header: norm(header), payload: norm(payload) };
}

// -- the scenario --------------------------------------------------------------------------

const steps = {};
const extras = {};

async function step(name, fn) {
  try {
    const observation = await fn();
    const { data, ...rest } = observation ?? {};
    steps[name] = rest;
  } catch (error) {
    steps[name] = { crashed: String(error?.stack ?? error).split("\n").slice(0, 3).join(" | ") };
  }
}

const ALICE = "alice@example.com";
const BOB = "bob@example.com";
const profile = { firstname: "Ada", lastname: "Lovelace", bio: "Analytical engines" };

async function core() {
  const a = device("a");
  await step("sign-up/ok", () => a.do("signUp.email", { email: ALICE, password: PASSWORD, name: "Alice", ...profile }));
  const anon = device("anon");
  await step("sign-up/duplicate", () => anon.do("signUp.email", { email: ALICE, password: PASSWORD, name: "Alice" }));
  await step("sign-up/password-too-short", () => anon.do("signUp.email", { email: "short@example.com", password: "short", name: "S" }));
  await step("sign-up/password-too-long", () => anon.do("signUp.email", { email: "long@example.com", password: "x".repeat(200), name: "S" }));
  await step("sign-up/bad-email", () => anon.raw("/sign-up/email", { method: "POST", body: { email: "not-an-email", password: PASSWORD, name: "X" } }));
  await step("sign-up/missing-name", () => anon.raw("/sign-up/email", { method: "POST", body: { email: "missing@example.com", password: PASSWORD } }));
  await step("sign-up/missing-everything", () => anon.raw("/sign-up/email", { method: "POST", body: {} }));
  await step("sign-up/name-wrong-type", () => anon.raw("/sign-up/email", { method: "POST", body: { email: "type@example.com", password: PASSWORD, name: 123 } }));
  await step("sign-up/null-image", () => anon.raw("/sign-up/email", { method: "POST", body: { email: "img@example.com", password: PASSWORD, name: "I", image: null } }));
  await step("sign-up/invalid-json", () => anon.raw("/sign-up/email", { method: "POST", body: "{not json" }));
  await step("sign-up/uppercase-email", () => device("upper").do("signUp.email", { email: "MiXeD@Example.COM", password: PASSWORD, name: "Mixed" }));
  const b = device("b");
  await step("sign-up/minimal", () => b.do("signUp.email", { email: BOB, password: PASSWORD, name: "Bob" }));

  await step("get-session/ok", () => a.do("getSession", { query: { disableCookieCache: true } }));
  await step("get-session/anonymous", () => device("nobody").do("getSession"));
  await step("get-session/garbage-cookie", () => {
    const d = device("garbage");
    d.jar.cookies.set("better-auth.session_token", "garbage.value");
    return d.raw("/get-session");
  });

  const a2 = device("a2");
  await step("sign-in/ok", () => a2.do("signIn.email", { email: ALICE, password: PASSWORD }));
  await step("sign-in/wrong-password", () => anon.do("signIn.email", { email: ALICE, password: "wrong password!!" }));
  await step("sign-in/unknown-email", () => anon.do("signIn.email", { email: "ghost@example.com", password: PASSWORD }));
  await step("sign-in/bad-email", () => anon.raw("/sign-in/email", { method: "POST", body: { email: "nope", password: PASSWORD } }));
  await step("sign-in/missing-password", () => anon.raw("/sign-in/email", { method: "POST", body: { email: ALICE } }));
  await step("sign-in/password-wrong-type", () => anon.raw("/sign-in/email", { method: "POST", body: { email: ALICE, password: 12345678 } }));
  const a3 = device("a3");
  await step("sign-in/remember-me-false", () => a3.do("signIn.email", { email: ALICE, password: PASSWORD, rememberMe: false }));
  await step("get-session/remember-me-false", () => a3.raw("/get-session"));
  const a4 = device("a4");
  await step("sign-in/callback-url", () => a4.raw("/sign-in/email", { method: "POST", body: { email: ALICE, password: PASSWORD, callbackURL: "/dashboard" } }));
  await step("sign-in/untrusted-callback-url", () => anon.raw("/sign-in/email", { method: "POST", body: { email: ALICE, password: PASSWORD, callbackURL: "https://evil.example/x" } }));
  await step("sign-in/form-urlencoded", () => device("form").raw("/sign-in/email", { method: "POST", body: new URLSearchParams({ email: ALICE, password: PASSWORD }).toString(), contentType: "application/x-www-form-urlencoded" }));

  await step("update-user/ok", () => a.do("updateUser", { name: "Alice Two", bio: "Difference engines" }));
  await step("get-session/after-update", () => a.do("getSession", { query: { disableCookieCache: true } }));
  await step("update-user/email", () => a.do("updateUser", { email: "other@example.com" }));
  await step("update-user/null-image", () => a.raw("/update-user", { method: "POST", body: { image: null } }));
  await step("update-user/name-wrong-type", () => a.raw("/update-user", { method: "POST", body: { name: 5 } }));
  await a.do("updateUser", { name: "Alice Two" }); // undo the step above wherever it was accepted
  await step("update-user/empty", () => a.raw("/update-user", { method: "POST", body: {} }));
  await step("update-user/anonymous", () => device("nobody").do("updateUser", { name: "X" }));

  await step("verify-password/ok", () => a.raw("/verify-password", { method: "POST", body: { password: PASSWORD } }));
  await step("verify-password/wrong", () => a.raw("/verify-password", { method: "POST", body: { password: "wrong password!!" } }));

  let listed = null;
  await step("list-sessions/ok", async () => {
    const r = await a.do("listSessions");
    listed = r.data;
    return r;
  });
  await step("list-sessions/anonymous", () => device("nobody").do("listSessions"));
  // revoke a3's session (the remember-me-false one) by the token list-sessions gave
  await step("revoke-session/listed-token", async () => {
    const target = (listed ?? []).find((s) => s.userAgent === "conformance-a3");
    return a.do("revokeSession", { token: target?.token ?? "missing" });
  });
  await step("get-session/revoked-elsewhere", () => a3.raw("/get-session"));
  await step("revoke-session/unknown-token", () => a.do("revokeSession", { token: "x".repeat(32) }));
  await step("revoke-session/missing-token", () => a.raw("/revoke-session", { method: "POST", body: {} }));
  await step("revoke-other-sessions/ok", () => a.do("revokeOtherSessions"));
  await step("get-session/after-revoke-other", () => a2.raw("/get-session"));
  const a5 = device("a5");
  await a5.do("signIn.email", { email: ALICE, password: PASSWORD });
  await step("revoke-sessions/ok", () => a5.do("revokeSessions"));
  await step("get-session/after-revoke-sessions", () => a.raw("/get-session"));

  // a is signed out now (revoke-sessions ended everything): sign in again
  await a.do("signIn.email", { email: ALICE, password: PASSWORD });
  const a6 = device("a6");
  await a6.do("signIn.email", { email: ALICE, password: PASSWORD });
  await step("change-password/wrong-current", () => a.do("changePassword", { currentPassword: "wrong password!!", newPassword: NEW_PASSWORD }));
  await step("change-password/too-short", () => a.do("changePassword", { currentPassword: PASSWORD, newPassword: "short" }));
  await step("change-password/missing-field", () => a.raw("/change-password", { method: "POST", body: { newPassword: NEW_PASSWORD } }));
  await step("change-password/ok", () => a.do("changePassword", { currentPassword: PASSWORD, newPassword: NEW_PASSWORD }));
  await step("get-session/other-after-change-password", () => a6.raw("/get-session"));
  await step("change-password/revoke-others", () => a.do("changePassword", { currentPassword: NEW_PASSWORD, newPassword: PASSWORD, revokeOtherSessions: true }));
  await step("get-session/after-change-password", () => a.raw("/get-session"));

  // password reset
  let before = mailCount();
  await step("request-password-reset/known", () => anon.do("requestPasswordReset", { email: BOB, redirectTo: "/reset" }));
  await step("request-password-reset/unknown", () => anon.do("requestPasswordReset", { email: "ghost@example.com", redirectTo: "/reset" }));
  await step("request-password-reset/bad-email", () => anon.raw("/request-password-reset", { method: "POST", body: { email: "nope" } }));
  let resetUrl = null;
  await step("request-password-reset/mail", async () => {
    const mail = await waitMail(BOB, before);
    resetUrl = mail.url;
    return { status: 0, body: { url: norm(mail.url, "url") }, headers: {} };
  });
  const resetToken = resetUrl ? new URL(resetUrl).pathname.split("/").pop() : "none";
  await step("reset-password/link", () => anon.raw(resetUrl ?? AUTH + "/reset-password/none?callbackURL=%2Freset"));
  await step("reset-password/link-bad-token", () => anon.raw("/reset-password/not-a-token?callbackURL=%2Freset"));
  await step("reset-password/ok", () => anon.do("resetPassword", { newPassword: NEW_PASSWORD, token: resetToken }));
  await step("reset-password/reused", () => anon.do("resetPassword", { newPassword: NEW_PASSWORD, token: resetToken }));
  await step("reset-password/missing-token", () => anon.raw("/reset-password", { method: "POST", body: { newPassword: NEW_PASSWORD } }));
  await step("sign-in/after-reset", () => device("b2").do("signIn.email", { email: BOB, password: NEW_PASSWORD }));

  // email verification and change
  const carol = device("carol");
  await carol.do("signUp.email", { email: "carol@example.com", password: PASSWORD, name: "Carol" });
  before = mailCount();
  await step("send-verification-email/ok", () => carol.do("sendVerificationEmail", { email: "carol@example.com", callbackURL: "/verified" }));
  await step("send-verification-email/mismatch", () => carol.do("sendVerificationEmail", { email: "someone@example.com" }));
  let verifyUrl = null;
  await step("send-verification-email/mail", async () => {
    const mail = await waitMail("carol@example.com", before);
    verifyUrl = mail.url;
    return { status: 0, body: { url: norm(mail.url, "url") }, headers: {} };
  });
  await step("verify-email/callback", () => carol.raw(verifyUrl));
  await step("verify-email/no-callback", () => {
    const u = new URL(verifyUrl);
    u.searchParams.delete("callbackURL");
    return device("v").raw(u.href);
  });
  await step("verify-email/bad-token", () => anon.raw("/verify-email?token=garbage"));
  await step("verify-email/bad-token-callback", () => anon.raw("/verify-email?token=garbage&callbackURL=%2Fverified"));
  await step("get-session/after-verify", () => carol.raw("/get-session"));

  before = mailCount();
  await step("change-email/ok", () => carol.do("changeEmail", { newEmail: "carol.new@example.com" }));
  await step("change-email/same", () => carol.do("changeEmail", { newEmail: "carol@example.com" }));
  await step("change-email/taken", () => carol.do("changeEmail", { newEmail: BOB }));
  await step("change-email/bad-email", () => carol.raw("/change-email", { method: "POST", body: { newEmail: "nope" } }));
  let changeUrl = null;
  await step("change-email/mail", async () => {
    const mail = await waitMail("carol.new@example.com", before);
    changeUrl = mail.url;
    return { status: 0, body: { url: norm(mail.url, "url") }, headers: {} };
  });
  await step("verify-email/change-email", () => carol.raw(changeUrl));
  await step("get-session/after-change-email", () => carol.raw("/get-session"));

  await step("list-accounts/ok", () => a.do("listAccounts"));
  await step("list-accounts/anonymous", () => device("nobody").do("listAccounts"));

  const stale = a.clone();
  await step("sign-out/ok", () => a.do("signOut"));
  await step("sign-out/anonymous", () => device("nobody").do("signOut"));
  await step("get-session/stale-cookie", () => stale.raw("/get-session"));

  const dave = device("dave");
  await dave.do("signUp.email", { email: "dave@example.com", password: PASSWORD, name: "Dave" });
  await step("delete-user/wrong-password", () => dave.do("deleteUser", { password: "wrong password!!" }));
  await step("delete-user/ok", () => dave.do("deleteUser", { password: PASSWORD }));
  await step("get-session/after-delete", () => dave.raw("/get-session"));
  await step("sign-in/deleted-user", () => device("dave2").do("signIn.email", { email: "dave@example.com", password: PASSWORD }));
}

async function routing() {
  const anon = device("route");
  await step("ok", () => anon.raw("/ok"));
  await step("routing/unknown-path", () => anon.raw("/does-not-exist"));
  await step("routing/unknown-path-post", () => anon.raw("/does-not-exist", { method: "POST", body: {} }));
  await step("routing/wrong-method-get-sign-in", () => anon.raw("/sign-in/email"));
  await step("routing/wrong-method-delete-session", () => anon.raw("/get-session", { method: "DELETE" }));
  await step("routing/options-preflight", () => anon.raw("/sign-in/email", { method: "OPTIONS", headers: { "access-control-request-method": "POST" } }));
  await step("routing/server-only-verify-api-key", () => anon.raw("/api-key/verify", { method: "POST", body: { key: "x" } }));
  await step("routing/text-plain", () => anon.raw("/sign-in/email", { method: "POST", body: JSON.stringify({ email: ALICE, password: PASSWORD }), contentType: "text/plain" }));

  const erin = device("erin");
  await erin.do("signUp.email", { email: "erin@example.com", password: PASSWORD, name: "Erin" });
  const noOrigin = erin.clone();
  noOrigin.origin = null;
  await step("origin/cookie-post-without-origin", () => noOrigin.raw("/update-user", { method: "POST", body: { name: "N" } }));
  const evil = erin.clone();
  evil.origin = "https://evil.example";
  await step("origin/untrusted-origin", () => evil.raw("/update-user", { method: "POST", body: { name: "N" } }));
  await step("origin/untrusted-origin-sign-in", () => device("evil2", { origin: "https://evil.example" }).raw("/sign-in/email", { method: "POST", body: { email: "erin@example.com", password: PASSWORD } }));
  await step("origin/trusted-spa-origin", () => device("spa", { origin: "http://localhost:5173" }).raw("/sign-in/email", { method: "POST", body: { email: "erin@example.com", password: PASSWORD } }));

  // bearer: a client without cookies (a mobile app) signs in and then sends the token it was given
  const bearerClient = device("erin-b", { cookies: false });
  const signInResponse = await bearerClient.fetch(AUTH + "/sign-in/email", {
    method: "POST", headers: { "content-type": "application/json" },
    body: JSON.stringify({ email: "erin@example.com", password: PASSWORD }),
  });
  const signed = signInResponse.headers.get("set-auth-token");
  const rawToken = signed ? signed.slice(0, signed.lastIndexOf(".")) : null;
  const bearerDevice = device("bearer", { cookies: false, origin: null });
  await step("bearer/sign-in-without-cookies", () => observe(signInResponse));
  // node's fetch sends Sec-Fetch-Mode: cors; without an Origin better-auth takes it for a browser
  await step("origin/sign-in-sec-fetch-mode-without-origin", async () => observe(await fetch(AUTH + "/sign-in/email", {
    method: "POST", headers: { "content-type": "application/json" },
    body: JSON.stringify({ email: "erin@example.com", password: PASSWORD }),
  })));
  await step("bearer/signed-token", () => bearerDevice.raw("/get-session", { headers: { authorization: `Bearer ${signed}` } }));
  await step("bearer/raw-token", () => bearerDevice.raw("/get-session", { headers: { authorization: `Bearer ${rawToken}` } }));
  await step("bearer/garbage", () => bearerDevice.raw("/get-session", { headers: { authorization: "Bearer garbage" } }));
  await step("bearer/sign-out", () => bearerDevice.raw("/sign-out", { method: "POST", body: {}, headers: { authorization: `Bearer ${signed}` } }));
  await step("bearer/after-sign-out", () => bearerDevice.raw("/get-session", { headers: { authorization: `Bearer ${signed}` } }));
}

async function twoFactorSteps() {
  const t = device("tf");
  await t.do("signUp.email", { email: "tf@example.com", password: PASSWORD, name: "Tf" });
  await step("two-factor/enable-wrong-password", () => t.do("twoFactor.enable", { password: "wrong password!!" }));
  let secret = null;
  let backupCodes = [];
  await step("two-factor/enable", async () => {
    const r = await t.do("twoFactor.enable", { password: PASSWORD });
    secret = secretOf(r.data.totpURI);
    backupCodes = r.data.backupCodes;
    return r;
  });
  await step("two-factor/get-totp-uri", () => t.do("twoFactor.getTotpUri", { password: PASSWORD }));
  await step("two-factor/verify-totp-wrong-code", () => t.do("twoFactor.verifyTotp", { code: "000000" }));
  await step("two-factor/verify-totp-enables", async () => t.do("twoFactor.verifyTotp", { code: await totp(secret, 0) }));
  await step("get-session/two-factor-enabled", () => t.raw("/get-session"));
  await t.do("signOut");
  const t2 = device("tf2");
  await step("two-factor/sign-in-redirect", () => t2.do("signIn.email", { email: "tf@example.com", password: PASSWORD }));
  await step("get-session/two-factor-pending", () => t2.raw("/get-session"));
  await step("two-factor/verify-totp-pending", async () => t2.do("twoFactor.verifyTotp", { code: await totp(secret, 1) }));
  const t3 = device("tf3");
  await t3.do("signIn.email", { email: "tf@example.com", password: PASSWORD });
  await step("two-factor/verify-backup-code", () => t3.do("twoFactor.verifyBackupCode", { code: backupCodes[0] }));
  const t4 = device("tf4");
  await t4.do("signIn.email", { email: "tf@example.com", password: PASSWORD });
  await step("two-factor/verify-backup-code-reused", () => t4.do("twoFactor.verifyBackupCode", { code: backupCodes[0] }));
  await step("two-factor/verify-totp-no-cookie", () => device("tf5").do("twoFactor.verifyTotp", { code: "123456" }));
  await step("two-factor/disable", () => t2.do("twoFactor.disable", { password: PASSWORD }));
}

async function adminSteps() {
  const root = device("root");
  await step("admin/sign-in", () => root.do("signIn.email", { email: adminEmail, password: adminPassword }));
  const u = device("managed");
  await u.do("signUp.email", { email: "managed@example.com", password: PASSWORD, name: "Managed" });
  const userId = (await u.do("getSession")).data?.user?.id;
  await step("admin/list-users", () => root.do("admin.listUsers", { query: { searchField: "email", searchValue: "managed@", searchOperator: "contains", limit: 10 } }));
  await step("admin/list-users-forbidden", () => u.do("admin.listUsers", { query: {} }));
  await step("admin/set-role", () => root.do("admin.setRole", { userId, role: "admin" }));
  await step("admin/set-role-unknown", () => root.do("admin.setRole", { userId, role: "wizard" }));
  await root.do("admin.setRole", { userId, role: "user" });
  await step("admin/ban-user", () => root.do("admin.banUser", { userId, banReason: "testing", banExpiresIn: 3600 }));
  await step("get-session/banned", () => u.raw("/get-session"));
  await step("sign-in/banned", () => device("managed2").do("signIn.email", { email: "managed@example.com", password: PASSWORD }));
  await step("admin/ban-self", async () => root.do("admin.banUser", { userId: (await root.do("getSession")).data?.user?.id }));
  await step("admin/unban-user", () => root.do("admin.unbanUser", { userId }));
  await step("admin/ban-unknown-user", () => root.do("admin.banUser", { userId: "x".repeat(32) }));
  await u.do("signIn.email", { email: "managed@example.com", password: PASSWORD }); // the ban ended its session
  await step("admin/stop-impersonating-without-admin-session", () => u.do("admin.stopImpersonating", {}));
}

async function organizationSteps() {
  const owner = device("owner");
  await owner.do("signUp.email", { email: "owner@example.com", password: PASSWORD, name: "Owner" });
  const member = device("member");
  await member.do("signUp.email", { email: "member@example.com", password: PASSWORD, name: "Member" });
  // the invitee verifies its email first, so the flow passes with or without requireEmailVerificationOnInvitation
  const before = mailCount();
  await member.do("sendVerificationEmail", { email: "member@example.com", callbackURL: "/" });
  await member.raw((await waitMail("member@example.com", before)).url);
  const stranger = device("stranger");
  await stranger.do("signUp.email", { email: "stranger@example.com", password: PASSWORD, name: "Stranger" });
  let orgId = null;
  await step("organization/create", async () => {
    const r = await owner.do("organization.create", { name: "Acme", slug: "acme" });
    orgId = r.data?.id;
    return r;
  });
  await step("organization/create-duplicate-slug", () => owner.do("organization.create", { name: "Acme 2", slug: "acme" }));
  await step("organization/create-missing-slug", () => owner.raw("/organization/create", { method: "POST", body: { name: "NoSlug" } }));
  await step("organization/check-slug-taken", () => owner.do("organization.checkSlug", { slug: "acme" }));
  await step("organization/check-slug-free", () => owner.do("organization.checkSlug", { slug: "free-slug" }));
  await step("organization/list", () => owner.do("organization.list"));
  await step("organization/get-full-organization", () => owner.do("organization.getFullOrganization", { query: { organizationId: orgId } }));
  await step("organization/get-full-organization-active", () => owner.raw("/organization/get-full-organization"));
  await step("organization/get-full-organization-non-member", () => member.do("organization.getFullOrganization", { query: { organizationId: orgId } }));
  await step("organization/set-active", () => owner.do("organization.setActive", { organizationId: orgId }));
  let invitationId = null;
  await step("organization/invite-member", async () => {
    const r = await owner.do("organization.inviteMember", { email: "member@example.com", role: "member", organizationId: orgId });
    invitationId = r.data?.id;
    return r;
  });
  await step("organization/invite-member-bad-role", () => owner.do("organization.inviteMember", { email: "x@example.com", role: "emperor", organizationId: orgId }));
  await step("organization/invite-member-by-non-member", () => member.do("organization.inviteMember", { email: "y@example.com", role: "member", organizationId: orgId }));
  await step("organization/list-invitations", () => owner.do("organization.listInvitations", { query: { organizationId: orgId } }));
  await step("organization/get-invitation", () => member.do("organization.getInvitation", { query: { id: invitationId } }));
  await step("organization/list-user-invitations", () => member.do("organization.listUserInvitations"));
  let strangerInvitation = null;
  await owner.do("organization.inviteMember", { email: "stranger@example.com", role: "member", organizationId: orgId })
    .then((r) => { strangerInvitation = r.data?.id; });
  await step("organization/get-invitation-unverified", () => stranger.do("organization.getInvitation", { query: { id: strangerInvitation } }));
  await step("organization/list-user-invitations-unverified", () => stranger.do("organization.listUserInvitations"));
  await step("organization/get-invitation-not-recipient", () => owner.do("organization.getInvitation", { query: { id: invitationId } }));
  await step("organization/accept-invitation", () => member.do("organization.acceptInvitation", { invitationId }));
  await step("organization/accept-invitation-again", () => member.do("organization.acceptInvitation", { invitationId }));
  await step("organization/list-members", () => owner.do("organization.listMembers", { query: { organizationId: orgId } }));
  await step("organization/has-permission-owner", () => owner.do("organization.hasPermission", { permissions: { organization: ["delete"] }, organizationId: orgId }));
  await step("organization/has-permission-member", () => member.do("organization.hasPermission", { permissions: { organization: ["update"] }, organizationId: orgId }));
  await step("organization/get-active-member", () => owner.do("organization.getActiveMember"));
  await step("organization/delete-by-member", () => member.do("organization.delete", { organizationId: orgId }));
  await step("organization/leave-only-owner", () => owner.do("organization.leave", { organizationId: orgId }));
}

async function apiKeySteps() {
  const k = device("keys");
  await k.do("signUp.email", { email: "keys@example.com", password: PASSWORD, name: "Keys" });
  let key = null;
  let keyId = null;
  await step("api-key/create", async () => {
    const r = await k.do("apiKey.create", { name: "ci", prefix: "ba_", expiresIn: 7 * 86400, metadata: { env: "ci" } });
    key = r.data?.key;
    keyId = r.data?.id;
    return r;
  });
  await step("api-key/create-server-only", () => k.do("apiKey.create", { name: "x", rateLimitMax: 1000 }));
  await step("api-key/create-anonymous", () => device("nobody").do("apiKey.create", { name: "x" }));
  await step("api-key/list", () => k.do("apiKey.list"));
  await step("api-key/get", () => k.do("apiKey.get", { query: { id: keyId } }));
  await step("api-key/get-unknown", () => k.do("apiKey.get", { query: { id: "x".repeat(32) } }));
  await step("api-key/update", () => k.do("apiKey.update", { keyId, name: "renamed" }));
  const holder = device("key-holder", { cookies: false, origin: null, headers: { "x-api-key": key ?? "none" } });
  await step("api-key/get-session", () => holder.raw("/get-session"));
  await step("api-key/delete", () => k.do("apiKey.delete", { keyId }));
  await step("api-key/get-session-deleted", () => holder.raw("/get-session"));
  await step("api-key/delete-again", () => k.do("apiKey.delete", { keyId }));
}

async function jwtSteps() {
  const j = device("jwt");
  await j.do("signUp.email", { email: "jwt@example.com", password: PASSWORD, name: "Jwt" });
  await step("jwt/get-session-header", () => j.raw("/get-session"));
  await step("jwt/token", async () => {
    const r = await j.raw("/token");
    return r;
  });
  const tokenResp = await j.fetch(AUTH + "/token", { method: "GET" });
  const token = tokenResp.ok ? (await tokenResp.json()).token : null;
  await step("jwt/token-claims", () => Promise.resolve({ status: 0, body: token ? decodeJwt(token) : null, headers: {} }));
  await step("jwt/token-anonymous", () => device("nobody").raw("/token"));
  await step("jwt/jwks", () => j.raw("/jwks"));
}

async function paritySteps() {
  // a dead session cookie is cleared by every endpoint that needs a session, not only get-session
  const p = device("parity");
  await p.do("signUp.email", { email: "parity@example.com", password: PASSWORD, name: "Parity" });
  const dead = p.clone(); // each step below takes its own copy: a clearing answer empties a jar
  await p.do("signOut");
  await step("stale-cookie/list-sessions", () => dead.clone().raw("/list-sessions"));
  await step("stale-cookie/update-user", () => dead.clone().raw("/update-user", { method: "POST", body: { name: "X" } }));
  await step("stale-cookie/organization-list", () => dead.clone().raw("/organization/list"));
  await step("stale-cookie/api-key-list", () => dead.clone().raw("/api-key/list"));
  await step("stale-cookie/token", () => dead.clone().raw("/token"));
  await step("stale-cookie/list-accounts", () => dead.clone().raw("/list-accounts"));

  const nobody = device("nobody");
  await step("api-key/list-anonymous", () => nobody.do("apiKey.list"));
  await step("api-key/get-anonymous", () => nobody.do("apiKey.get", { query: { id: "x".repeat(32) } }));
  await step("organization/list-user-invitations-anonymous", () => nobody.do("organization.listUserInvitations"));
  const shortKey = device("short-key", { cookies: false, origin: null, headers: { "x-api-key": "short" } });
  await step("api-key/too-short-key", () => shortKey.raw("/get-session"));

  const root = device("root-parity");
  await root.do("signIn.email", { email: adminEmail, password: adminPassword });
  await step("admin/has-permission-ok", () => root.do("admin.hasPermission", { permissions: { user: ["list"] } }));
  await step("admin/has-permission-empty", () => root.raw("/admin/has-permission", { method: "POST", body: {} }));
  await step("admin/has-permission-string", () => root.raw("/admin/has-permission", { method: "POST", body: { permissions: "user" } }));
  // object fields sent as something else, or left out: zod's "expected object"
  const o = device("objects");
  await o.do("signUp.email", { email: "objects@example.com", password: PASSWORD, name: "Objects" });
  const org = (await o.do("organization.create", { name: "Objects", slug: "objects" })).data;
  await step("validation/organization-has-permission-missing", () => o.raw("/organization/has-permission", { method: "POST", body: { organizationId: org?.id } }));
  await step("validation/organization-has-permission-string", () => o.raw("/organization/has-permission", { method: "POST", body: { permissions: "x", organizationId: org?.id } }));
  await step("validation/organization-update-missing-data", () => o.raw("/organization/update", { method: "POST", body: { organizationId: org?.id } }));
  await step("validation/organization-update-data-string", () => o.raw("/organization/update", { method: "POST", body: { data: "x", organizationId: org?.id } }));
  await step("validation/admin-update-user-missing-data", () => root.raw("/admin/update-user", { method: "POST", body: { userId: "x".repeat(32) } }));
  await step("validation/admin-update-user-data-string", () => root.raw("/admin/update-user", { method: "POST", body: { userId: "x".repeat(32), data: "x" } }));
  await step("validation/admin-create-user-data-string", () => root.raw("/admin/create-user", { method: "POST", body: { email: "d@example.com", password: PASSWORD, name: "D", data: "x" } }));
  await step("validation/api-key-create-permissions-string", () => root.raw("/api-key/create", { method: "POST", body: { name: "x", permissions: "x" } }));
}

async function openApiSteps() {
  // the auth API's own document: relative paths, the base path in servers, better-auth's operationIds
  await step("open-api/generate-schema", async () => {
    const response = await fetch(AUTH + "/open-api/generate-schema");
    const doc = await response.json();
    const ids = {};
    for (const [path, method] of [["/sign-up/email", "post"], ["/sign-in/email", "post"], ["/get-session", "get"],
      ["/list-sessions", "get"], ["/admin/list-users", "get"], ["/organization/get-full-organization", "get"],
      ["/organization/invite-member", "post"], ["/jwks", "get"], ["/token", "get"], ["/reset-password/{token}", "get"]]) {
      ids[`${method} ${path}`] = doc.paths?.[path]?.[method]?.operationId ?? null;
    }
    const paths = Object.keys(doc.paths ?? {});
    return {
      status: response.status,
      body: {
        servers: norm(doc.servers),
        openapiMajor: String(doc.openapi).split(".").slice(0, 2).join("."),
        allRelative: paths.every((p) => p.startsWith("/") && !p.startsWith("/api/")),
        operationIds: ids,
      },
      headers: {},
    };
  });
}

async function surfaceSteps() {
  const u = device("surface");
  await u.do("signUp.email", { email: "surface@example.com", password: PASSWORD, name: "Surface" });
  const nobody = device("nobody");
  // (the client sends a call without body keys as GET: a raw POST is what a caller means)
  await step("update-session/empty", () => u.raw("/update-session", { method: "POST", body: {} }));
  await step("update-session/unknown-field", () => u.do("updateSession", { color: "blue" }));
  await step("update-session/plugin-field", () => u.do("updateSession", { activeOrganizationId: "x".repeat(32) }));
  await step("update-session/anonymous", () => nobody.do("updateSession", { color: "blue" }));

  const credentialId = (await u.do("listAccounts")).data?.[0]?.id ?? "none";
  await step("unlink-account/last-account", () => u.do("unlinkAccount", { accountId: credentialId }));
  await step("unlink-account/missing-account-id", () => u.raw("/unlink-account", { method: "POST", body: {} }));
  await step("unlink-account/anonymous", () => nobody.do("unlinkAccount", { accountId: credentialId }));
  await step("get-access-token/credential-account", () => u.do("getAccessToken", { accountId: credentialId }));
  await step("get-access-token/unknown-account", () => u.do("getAccessToken", { accountId: "x".repeat(32) }));
  await step("get-access-token/empty-body", () => u.raw("/get-access-token", { method: "POST", body: {} }));
  await step("get-access-token/extra-key", () => u.raw("/get-access-token", { method: "POST", body: { accountId: credentialId, providerId: "keycloak" } }));
  await step("get-access-token/account-cookie", () => u.raw("/get-access-token", { method: "POST", body: { useAccountCookie: true } }));
  await step("get-access-token/anonymous", () => nobody.do("getAccessToken", { accountId: credentialId }));
  await step("refresh-token/credential-account", () => u.do("refreshToken", { accountId: credentialId }));
  await step("refresh-token/unknown-account", () => u.do("refreshToken", { accountId: "x".repeat(32) }));
  await step("refresh-token/anonymous", () => nobody.do("refreshToken", { accountId: credentialId }));
  await step("account-info/credential-account", () => u.do("accountInfo", { query: { accountId: credentialId } }));
  await step("account-info/unknown-account", () => u.do("accountInfo", { query: { accountId: "x".repeat(32) } }));
  await step("account-info/no-query", () => u.raw("/account-info"));
  await step("account-info/anonymous", () => nobody.do("accountInfo", { query: { accountId: credentialId } }));

  await step("link-social/unknown-provider", () => u.do("linkSocial", { provider: "keycloak", callbackURL: "/linked" }));
  await step("link-social/untrusted-callback", () => u.do("linkSocial", { provider: "keycloak", callbackURL: "https://evil.example/x" }));
  await step("link-social/anonymous", () => nobody.do("linkSocial", { provider: "keycloak", callbackURL: "/linked" }));

  const other = device("surface-other");
  await other.do("signUp.email", { email: "surface-other@example.com", password: PASSWORD, name: "Other" });
  await step("organization/get-organization-none-active", () => u.do("organization.getOrganization", { query: {} }));
  const org = (await u.do("organization.create", { name: "Surface", slug: "surface" })).data;
  await step("organization/get-organization", () => u.do("organization.getOrganization", { query: { organizationId: org?.id } }));
  await step("organization/get-organization-active", () => u.raw("/organization/get-organization"));
  await step("organization/get-organization-by-slug", () => u.do("organization.getOrganization", { query: { organizationSlug: "surface" } }));
  await step("organization/get-organization-unknown", () => u.do("organization.getOrganization", { query: { organizationId: "x".repeat(32) } }));
  await step("organization/get-organization-non-member", () => other.do("organization.getOrganization", { query: { organizationId: org?.id } }));
  await step("organization/get-organization-anonymous", () => nobody.do("organization.getOrganization", { query: { organizationId: org?.id } }));
}

async function otpSteps() {
  const codeIn = (mail) => (mail.text.match(/\b\d{6}\b/) ?? [null])[0];
  const o = device("otp");
  await o.do("signUp.email", { email: "otp@example.com", password: PASSWORD, name: "Otp" });
  await step("two-factor/send-otp-without-challenge", () => device("otp-none").do("twoFactor.sendOtp", {}));
  await step("two-factor/verify-otp-nothing-sent", () => o.do("twoFactor.verifyOtp", { code: "123456" }));
  let before = mailCount();
  await step("two-factor/send-otp-session", () => o.do("twoFactor.sendOtp", {}));
  let code = codeIn(await waitMail("otp@example.com", before));
  await step("two-factor/verify-otp-wrong", () => o.do("twoFactor.verifyOtp", { code: code === "000000" ? "111111" : "000000" }));
  await step("two-factor/verify-otp-enables", () => o.do("twoFactor.verifyOtp", { code }));
  await step("get-session/otp-enabled", () => o.raw("/get-session"));
  await step("two-factor/verify-otp-reused", () => o.do("twoFactor.verifyOtp", { code }));

  const o2 = device("otp2");
  await step("two-factor/otp-sign-in-redirect", () => o2.do("signIn.email", { email: "otp@example.com", password: PASSWORD }));
  before = mailCount();
  await step("two-factor/send-otp-challenge", () => o2.do("twoFactor.sendOtp", {}));
  code = codeIn(await waitMail("otp@example.com", before));
  const replay = o2.clone();
  await step("two-factor/verify-otp-challenge-wrong", () => o2.do("twoFactor.verifyOtp", { code: code === "000000" ? "111111" : "000000" }));
  await step("two-factor/verify-otp-challenge", () => o2.do("twoFactor.verifyOtp", { code }));
  await step("get-session/after-otp-sign-in", () => o2.raw("/get-session"));
  await step("two-factor/verify-otp-challenge-replayed", () => replay.do("twoFactor.verifyOtp", { code }));

  // attempts per mailed code: the sixth wrong try needs a new code (session path: no challenge counting)
  const o3 = device("otp3");
  await o3.do("signUp.email", { email: "otp3@example.com", password: PASSWORD, name: "Otp3" });
  before = mailCount();
  await o3.do("twoFactor.sendOtp", {});
  code = codeIn(await waitMail("otp3@example.com", before));
  const wrong = code === "000000" ? "111111" : "000000";
  for (let i = 0; i < 5; i++) await o3.do("twoFactor.verifyOtp", { code: wrong });
  await step("two-factor/verify-otp-too-many-attempts", () => o3.do("twoFactor.verifyOtp", { code }));
}

const { teamSteps } = await import("./team-steps.mjs");
async function verify(d, email) {
  const before = mailCount();
  await d.do("sendVerificationEmail", { email, callbackURL: "/" });
  await d.raw((await waitMail(email, before)).url);
}

const { runAndPrint } = await import("../js/lib.mjs");
runAndPrint(async () => {
  await core();
  await routing();
  await twoFactorSteps();
  await adminSteps();
  await organizationSteps();
  await apiKeySteps();
  await jwtSteps();
  await paritySteps();
  await openApiSteps();
  await surfaceSteps();
  await otpSteps();
  await teamSteps({ device, step, PASSWORD, verify });
  return { steps, extras };
});
