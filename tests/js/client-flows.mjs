// node client-flows.mjs <serverURL> <outboxPath> <flow>
//
// Runs one user journey with the official better-auth client against our server and prints one
// JSON document of what it observed (statuses, error codes, selected fields). The pytest side
// (tests/auth/test_js_client.py) asserts on it; nothing here decides pass or fail.

import { Device, readOutbox, runAndPrint, tokenOfCookie, uniqueEmail, waitForMail } from "./lib.mjs";

const [serverURL, outboxPath, flowName] = process.argv.slice(2);
const PASSWORD = "correct horse battery staple";
const NEW_PASSWORD = "a whole new passphrase 42";
const SESSION_COOKIE = "better-auth.session_token";

const profile = { firstname: "Ada", lastname: "Lovelace", bio: "Analytical engines" };

function userFields(user) {
  if (!user) return null;
  const { id, name, email, emailVerified, firstname, lastname, bio } = user;
  return { id, name, email, emailVerified, firstname, lastname, bio, keys: Object.keys(user).sort() };
}

function sessionOf(result) {
  const data = result.data;
  if (!data) return null;
  return {
    userEmail: data.user?.email ?? null,
    userId: data.user?.id ?? null,
    sessionToken: data.session?.token ?? null,
    sessionUserId: data.session?.userId ?? null,
    sessionKeys: data.session ? Object.keys(data.session).sort() : [],
    user: userFields(data.user),
  };
}

function outcome(result) {
  return { status: result.status, ok: result.ok, code: result.code, data: result.data };
}

async function signUp(device, email, extra = {}) {
  return device.call("signUp.email", { email, password: PASSWORD, name: "Ada", ...extra });
}

const flows = {
  // sign-up with profile fields, then get-session: the cookie, the header and the user object.
  async "sign-up"() {
    const device = new Device(serverURL, { userAgent: "device-a" });
    const email = uniqueEmail("signup");
    const signUpResult = await signUp(device, email, profile);
    const cookie = device.jar.get(SESSION_COOKIE) ?? null;
    const sessionResult = await device.session();
    return {
      email,
      signUp: {
        status: signUpResult.status,
        code: signUpResult.code,
        token: signUpResult.data?.token ?? null,
        user: userFields(signUpResult.data?.user),
        setAuthToken: signUpResult.headers["set-auth-token"] ?? null,
        exposeHeaders: signUpResult.headers["access-control-expose-headers"] ?? null,
        setCookie: signUpResult.headers["set-cookie"] ?? [],
      },
      jarCookies: device.jar.names(),
      cookieToken: tokenOfCookie(cookie),
      getSession: {
        status: sessionResult.status,
        cacheControl: sessionResult.headers["cache-control"] ?? null,
        ...sessionOf(sessionResult),
      },
    };
  },

  // update-user with profile fields; a fresh get-session shows them; email cannot be changed here.
  async "update-user"() {
    const device = new Device(serverURL);
    const email = uniqueEmail("update");
    await signUp(device, email);
    const update = await device.call("updateUser", { name: "Ada King", ...profile });
    const after = await device.session();
    const emailChange = await device.call("updateUser", { email: uniqueEmail("other") });
    return { email, update: outcome(update), after: sessionOf(after), emailChange: outcome(emailChange) };
  },

  // sign-out ends the session (get-session → null); sign-in starts a new one.
  async "sign-out-sign-in"() {
    const device = new Device(serverURL);
    const email = uniqueEmail("signout");
    const signUpResult = await signUp(device, email);
    const oldToken = signUpResult.data?.token ?? null;
    const signOut = await device.call("signOut");
    const jarAfterSignOut = device.jar.names();
    const afterSignOut = await device.session();
    const signIn = await device.call("signIn.email", { email, password: PASSWORD });
    const afterSignIn = await device.session();
    return {
      email,
      oldToken,
      signOut: { ...outcome(signOut), setCookie: signOut.headers["set-cookie"] ?? [] },
      jarAfterSignOut,
      afterSignOut: outcome(afterSignOut),
      signIn: {
        status: signIn.status,
        code: signIn.code,
        redirect: signIn.data?.redirect ?? null,
        token: signIn.data?.token ?? null,
        user: userFields(signIn.data?.user),
        setAuthToken: signIn.headers["set-auth-token"] ?? null,
      },
      afterSignIn: sessionOf(afterSignIn),
    };
  },

  // Two devices: list-sessions shows both, revoking the second logs it out and spares the first.
  async "sessions"() {
    const first = new Device(serverURL, { userAgent: "device-first" });
    const second = new Device(serverURL, { userAgent: "device-second" });
    const email = uniqueEmail("sessions");
    await signUp(first, email);
    const secondSignIn = await second.call("signIn.email", { email, password: PASSWORD });
    const secondToken = secondSignIn.data?.token ?? null;
    const listed = await first.call("listSessions");
    const sessions = Array.isArray(listed.data) ? listed.data : [];
    const entry = sessions.find((s) => s.userAgent === "device-second") ?? null;
    // A listed handle of another session must not work as that session's bearer token.
    const thief = new Device(serverURL, { cookies: false, origin: null });
    const handleAsBearer = entry?.token
      ? await thief.session({ headers: { authorization: `Bearer ${entry.token}` } })
      : null;
    const revoke = await first.call("revokeSession", { token: entry?.token ?? "" });
    const secondAfter = await second.session();
    const firstAfter = await first.session();
    const listedAfter = await first.call("listSessions");
    return {
      email,
      secondToken,
      list: {
        status: listed.status,
        code: listed.code,
        count: sessions.length,
        userAgents: sessions.map((s) => s.userAgent).sort(),
        tokens: sessions.map((s) => s.token ?? null),
        keys: sessions[0] ? Object.keys(sessions[0]).sort() : [],
      },
      handleAsBearer: handleAsBearer && outcome(handleAsBearer),
      revoke: outcome(revoke),
      secondAfter: outcome(secondAfter),
      firstAfter: sessionOf(firstAfter),
      listAfter: {
        status: listedAfter.status,
        userAgents: Array.isArray(listedAfter.data) ? listedAfter.data.map((s) => s.userAgent).sort() : null,
      },
    };
  },

  // change-password with revokeOtherSessions: the other device is out, only the new password works.
  async "change-password"() {
    const first = new Device(serverURL, { userAgent: "device-first" });
    const second = new Device(serverURL, { userAgent: "device-second" });
    const email = uniqueEmail("changepw");
    const signUpResult = await signUp(first, email);
    await second.call("signIn.email", { email, password: PASSWORD });
    const wrongCurrent = await first.call("changePassword", {
      currentPassword: "not the password",
      newPassword: NEW_PASSWORD,
    });
    const change = await first.call("changePassword", {
      currentPassword: PASSWORD,
      newPassword: NEW_PASSWORD,
      revokeOtherSessions: true,
    });
    const firstAfter = await first.session();
    const secondAfter = await second.session();
    const fresh = new Device(serverURL);
    const oldPassword = await fresh.call("signIn.email", { email, password: PASSWORD });
    const newPassword = await fresh.call("signIn.email", { email, password: NEW_PASSWORD });
    return {
      email,
      oldToken: signUpResult.data?.token ?? null,
      wrongCurrent: outcome(wrongCurrent),
      change: {
        status: change.status,
        code: change.code,
        token: change.data?.token ?? null,
        userEmail: change.data?.user?.email ?? null,
        setAuthToken: change.headers["set-auth-token"] ?? null,
      },
      cookieToken: tokenOfCookie(first.jar.get(SESSION_COOKIE)),
      firstAfter: sessionOf(firstAfter),
      secondAfter: outcome(secondAfter),
      oldPassword: { status: oldPassword.status, code: oldPassword.code },
      newPassword: { status: newPassword.status, code: newPassword.code, email: newPassword.data?.user?.email ?? null },
    };
  },

  // Password reset through the mail: request, follow the link, reset, sign in; the token is single-use.
  async "password-reset"() {
    const device = new Device(serverURL);
    const email = uniqueEmail("reset");
    const unknown = uniqueEmail("nobody");
    await signUp(device, email);
    const before = readOutbox(outboxPath).length;
    const request = await device.call("requestPasswordReset", { email, redirectTo: "/reset" });
    const requestUnknown = await device.call("requestPasswordReset", { email: unknown, redirectTo: "/reset" });
    const mail = await waitForMail(outboxPath, email, { after: before });
    const link = await device.get(mail.url);
    const location = link.headers.get("location");
    const token = location ? new URL(location, serverURL).searchParams.get("token") : null;
    const badLink = await device.get(`${serverURL}/api/v1/auth/reset-password/not-a-token?callbackURL=/reset`);
    const reset = await device.call("resetPassword", { newPassword: NEW_PASSWORD, token });
    const fresh = new Device(serverURL);
    const newPassword = await fresh.call("signIn.email", { email, password: NEW_PASSWORD });
    const oldPassword = await fresh.call("signIn.email", { email, password: PASSWORD });
    const reuse = await device.call("resetPassword", { newPassword: "yet another passphrase", token });
    const mails = readOutbox(outboxPath).slice(before);
    return {
      email,
      request: outcome(request),
      requestUnknown: outcome(requestUnknown),
      mailsTo: mails.map((m) => m.to),
      mail: { subject: mail.subject, url: mail.url, textHasUrl: typeof mail.text === "string" && mail.text.includes(mail.url) },
      link: { status: link.status, location },
      token,
      badLink: { status: badLink.status, location: badLink.headers.get("location") },
      reset: outcome(reset),
      newPassword: { status: newPassword.status, code: newPassword.code, email: newPassword.data?.user?.email ?? null },
      oldPassword: { status: oldPassword.status, code: oldPassword.code },
      reuse: outcome(reuse),
    };
  },

  // Error codes the client surfaces: duplicate sign-up, wrong password, unknown email, origins.
  async "errors"() {
    const device = new Device(serverURL);
    const email = uniqueEmail("errors");
    await signUp(device, email);
    const other = new Device(serverURL);
    const duplicate = await signUp(other, email);
    const duplicateUpper = await signUp(other, email.toUpperCase());
    const wrongPassword = await other.call("signIn.email", { email, password: "wrong password!" });
    const unknownEmail = await other.call("signIn.email", { email: uniqueEmail("unknown"), password: PASSWORD });
    const shortPassword = await other.call("signUp.email", { email: uniqueEmail("short"), password: "short", name: "S" });
    const anonymousSession = await other.session();
    const anonymousList = await other.call("listSessions");
    const evil = new Device(serverURL, { origin: "http://evil.example" });
    const untrustedOrigin = await evil.call("signIn.email", { email, password: PASSWORD });
    const spa = new Device(serverURL, { origin: "http://localhost:5173" });
    const trustedOrigin = await spa.call("signIn.email", { email, password: PASSWORD });
    const noOrigin = new Device(serverURL, { origin: null });
    noOrigin.jar.cookies = new Map(device.jar.cookies);
    const cookieWithoutOrigin = await noOrigin.call("signOut");
    return {
      email,
      duplicate: outcome(duplicate),
      duplicateUpper: outcome(duplicateUpper),
      wrongPassword: outcome(wrongPassword),
      unknownEmail: outcome(unknownEmail),
      shortPassword: outcome(shortPassword),
      anonymousSession: outcome(anonymousSession),
      anonymousList: outcome(anonymousList),
      untrustedOrigin: outcome(untrustedOrigin),
      trustedOrigin: { status: trustedOrigin.status, code: trustedOrigin.code },
      cookieWithoutOrigin: outcome(cookieWithoutOrigin),
    };
  },

  // Bearer: sign in without cookies, read set-auth-token, use it as Authorization: Bearer.
  async "bearer"() {
    const email = uniqueEmail("bearer");
    await signUp(new Device(serverURL), email, profile);
    const app = new Device(serverURL, { cookies: false, userAgent: "mobile-app" });
    const signIn = await app.call("signIn.email", { email, password: PASSWORD });
    const token = signIn.headers["set-auth-token"] ?? null;
    const auth = (value) => ({ headers: { authorization: `Bearer ${value}` } });
    const signed = token ? await app.session(auth(token)) : null;
    const raw = signIn.data?.token ? await app.session(auth(signIn.data.token)) : null;
    const tampered = token ? await app.session(auth(token.slice(0, -4) + "AAA=")) : null;
    const noAuth = await app.session();
    const signOut = token ? await app.call("signOut", undefined, auth(token)) : null;
    const afterSignOut = token ? await app.session(auth(token)) : null;
    return {
      email,
      signIn: {
        status: signIn.status,
        code: signIn.code,
        token: signIn.data?.token ?? null,
        setAuthToken: token,
        exposeHeaders: signIn.headers["access-control-expose-headers"] ?? null,
      },
      signed: signed && { status: signed.status, ...sessionOf(signed) },
      raw: raw && { status: raw.status, ...sessionOf(raw) },
      tampered: tampered && outcome(tampered),
      noAuth: outcome(noAuth),
      signOut: signOut && outcome(signOut),
      afterSignOut: afterSignOut && outcome(afterSignOut),
    };
  },
};

runAndPrint(async () => {
  const flow = flows[flowName];
  if (!flow) throw new Error(`unknown flow ${flowName}; known: ${Object.keys(flows).join(", ")}`);
  return flow();
});
