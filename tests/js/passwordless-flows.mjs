// node passwordless-flows.mjs <serverURL> <outboxPath> <flow>
//
// The official client with emailOTPClient, magicLinkClient and passkeyClient, unchanged, against a
// server: ours (tests/passwordless/test_js_clients.py) or a real better-auth with the same plugins
// (tests/conformance/test_passwordless_conformance.py runs both and compares). Prints one JSON
// document of what was observed. Codes are read from the mails (the outbox, one JSON line each).
// Passkey ceremonies need an authenticator: they run in Chromium (tests/browser); here only the
// option and error shapes that need none.

import { createAuthClient } from "better-auth/client";
import { emailOTPClient, magicLinkClient } from "better-auth/client/plugins";
import { passkeyClient } from "@better-auth/passkey/client";
import { BASE_PATH, Device, readOutbox, runAndPrint } from "./lib.mjs";

const [serverURL, outboxPath, flowName] = process.argv.slice(2);
const PASSWORD = "correct horse battery staple";

class PasswordlessDevice extends Device {
  constructor(url, options) {
    super(url, options);
    this.client = createAuthClient({
      baseURL: this.serverURL + BASE_PATH,
      plugins: [emailOTPClient(), magicLinkClient(), passkeyClient()],
      fetchOptions: { customFetchImpl: (input, init) => this.fetch(input, init) },
    });
  }

  /** A raw call through the client's own $fetch (paths the client has no method for). */
  async raw(path, options = {}) {
    let response = null;
    const { data, error } = await this.client.$fetch(path, {
      ...options,
      onResponse: (ctx) => {
        response = ctx.response;
      },
    });
    return { status: response?.status ?? error?.status, code: error?.code ?? null, data: data ?? null };
  }
}

let counter = 0;
const unique = (label) => `${label}-${Date.now().toString(36)}-${counter++}@example.com`;

/** The newest mail to `to` after `after` mails in the outbox, waiting for it. */
async function mailTo(to, after) {
  const deadline = Date.now() + 5000;
  for (;;) {
    const mails = readOutbox(outboxPath).slice(after).filter((m) => m.to === to);
    if (mails.length) return mails[mails.length - 1];
    if (Date.now() > deadline) throw new Error(`no mail to ${to}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
const mailCount = () => readOutbox(outboxPath).length;
const codeOf = (mail) => /(?:^|\s)(\d{6})(?:\s|$)/.exec(mail.text)[1];
const keys = (value) => (value && typeof value === "object" ? Object.keys(value).sort() : value);
const brief = (r) => ({ status: r.status, code: r.code, keys: keys(r.data) });

const flows = {
  async emailOtp() {
    const out = {};
    const email = unique("otp");
    const device = new PasswordlessDevice(serverURL, { userAgent: "otp" });
    let before = mailCount();
    out.send = brief(await device.call("emailOtp.sendVerificationOtp", { email, type: "sign-in" }));
    const code = codeOf(await mailTo(email, before));
    const wrong = code === "000000" ? "111111" : "000000";
    out.wrong = brief(await device.call("signIn.emailOtp", { email, otp: wrong }));
    const signIn = await device.call("signIn.emailOtp", { email, otp: code });
    out.signIn = { ...brief(signIn), userKeys: keys(signIn.data?.user), emailVerified: signIn.data?.user?.emailVerified };
    out.sessionEmail = (await device.session()).data?.user?.email === email;
    out.reuse = brief(await new PasswordlessDevice(serverURL).call("signIn.emailOtp", { email, otp: code }));
    out.invalidEmail = brief(await device.call("emailOtp.sendVerificationOtp", { email: "nope", type: "sign-in" }));
    out.unknownVerification = brief(await device.call("emailOtp.sendVerificationOtp", {
      email: unique("ghost"), type: "email-verification",
    }));

    // Attempts: three wrong codes, then even the right one is refused.
    const limited = unique("limited");
    before = mailCount();
    await device.call("emailOtp.sendVerificationOtp", { email: limited, type: "sign-in" });
    const limitedCode = codeOf(await mailTo(limited, before));
    const badOne = limitedCode === "000000" ? "111111" : "000000";
    out.attempts = [];
    for (let i = 0; i < 3; i++) out.attempts.push(brief(await device.call("signIn.emailOtp", { email: limited, otp: badOne })));
    out.afterAttempts = brief(await device.call("signIn.emailOtp", { email: limited, otp: limitedCode }));

    // Verify an email address with a code, after a password sign-up.
    const member = new PasswordlessDevice(serverURL, { userAgent: "member" });
    const memberEmail = unique("member");
    await member.call("signUp.email", { email: memberEmail, password: PASSWORD, name: "Mem" });
    before = mailCount();
    out.sendVerification = brief(await member.call("emailOtp.sendVerificationOtp", { email: memberEmail, type: "email-verification" }));
    const verifyCode = codeOf(await mailTo(memberEmail, before));
    out.check = brief(await member.call("emailOtp.checkVerificationOtp", { email: memberEmail, type: "email-verification", otp: verifyCode }));
    const verified = await member.call("emailOtp.verifyEmail", { email: memberEmail, otp: verifyCode });
    out.verifyEmail = { ...brief(verified), status: verified.status, token: verified.data && "token" in verified.data ? verified.data.token : "absent", emailVerified: verified.data?.user?.emailVerified };

    // Reset the password with a code.
    before = mailCount();
    out.requestReset = brief(await member.call("emailOtp.requestPasswordReset", { email: memberEmail }));
    const resetCode = codeOf(await mailTo(memberEmail, before));
    out.shortPassword = brief(await member.call("emailOtp.resetPassword", { email: memberEmail, otp: resetCode, password: "short" }));
    out.reset = brief(await member.call("emailOtp.resetPassword", { email: memberEmail, otp: resetCode, password: "a new passphrase 42" }));
    out.newPasswordSignIn = (await new PasswordlessDevice(serverURL).call("signIn.email", { email: memberEmail, password: "a new passphrase 42" })).status;
    out.deprecatedReset = brief(await member.call("forgetPassword.emailOtp", { email: unique("ghost") }));
    return out;
  },

  async magicLink() {
    const out = {};
    const email = unique("link");
    const device = new PasswordlessDevice(serverURL, { userAgent: "link" });
    let before = mailCount();
    out.send = brief(await device.call("signIn.magicLink", { email, name: "Lin", callbackURL: "/dashboard" }));
    const mail = await mailTo(email, before);
    const url = new URL(mail.url);
    out.link = { path: url.pathname, params: [...url.searchParams.keys()].sort(), callbackURL: url.searchParams.get("callbackURL"), tokenLength: url.searchParams.get("token").length };
    const followed = await device.get(mail.url);
    out.follow = { status: followed.status, location: followed.headers.get("location") };
    const session = await device.session();
    out.session = { email: session.data?.user?.email === email, name: session.data?.user?.name, emailVerified: session.data?.user?.emailVerified };
    const again = await new PasswordlessDevice(serverURL).get(mail.url);
    out.reuse = { status: again.status, location: again.headers.get("location") };

    before = mailCount();
    await device.call("signIn.magicLink", { email });
    const second = new URL((await mailTo(email, before)).url);
    const verify = await new PasswordlessDevice(serverURL).call("magicLink.verify", { query: { token: second.searchParams.get("token") } });
    out.verifyJson = { ...brief(verify), sessionKeys: keys(verify.data?.session) };
    out.untrusted = brief(await device.call("signIn.magicLink", { email, callbackURL: "https://evil.example.net/" }));
    out.invalidEmail = brief(await device.call("signIn.magicLink", { email: "not-an-email" }));
    out.badToken = await (async () => {
      const r = await device.get(`${serverURL}${BASE_PATH}/magic-link/verify?token=nope&callbackURL=/x`);
      return { status: r.status, location: r.headers.get("location") };
    })();
    return out;
  },

  async passkeyApi() {
    const out = {};
    const anonymous = new PasswordlessDevice(serverURL);
    out.listAnonymous = brief(await anonymous.call("passkey.listUserPasskeys"));
    out.registerAnonymous = brief(await anonymous.raw("/passkey/generate-register-options", { method: "GET" }));
    const authOptions = await anonymous.raw("/passkey/generate-authenticate-options", { method: "GET" });
    out.authenticateOptions = { ...brief(authOptions), userVerification: authOptions.data?.userVerification, challengeLength: authOptions.data?.challenge?.length };
    out.cookie = anonymous.jar.names().filter((n) => n.includes("passkey"));
    out.unknownCredential = brief(await anonymous.raw("/passkey/verify-authentication", {
      method: "POST", body: { response: { id: "AAAA", rawId: "AAAA", type: "public-key", response: {} } },
    }));
    out.noChallenge = brief(await new PasswordlessDevice(serverURL).raw("/passkey/verify-authentication", {
      method: "POST", body: { response: { id: "AAAA" } },
    }));

    const device = new PasswordlessDevice(serverURL, { userAgent: "passkey" });
    const email = unique("pk");
    await device.call("signUp.email", { email, password: PASSWORD, name: "Pat" });
    out.list = brief(await device.call("passkey.listUserPasskeys"));
    out.noRegistrationChallenge = brief(await device.raw("/passkey/verify-registration", { method: "POST", body: { response: {} } }));
    const options = await device.raw("/passkey/generate-register-options", { method: "GET", query: { name: "work" } });
    out.registerOptions = {
      ...brief(options),
      rp: keys(options.data?.rp),
      user: keys(options.data?.user),
      userName: options.data?.user?.name,
      pubKeyCredParams: options.data?.pubKeyCredParams,
      timeout: options.data?.timeout,
      attestation: options.data?.attestation,
      authenticatorSelection: options.data?.authenticatorSelection,
      extensions: options.data?.extensions,
      excludeCredentials: options.data?.excludeCredentials,
      hints: options.data?.hints,
      challengeLength: options.data?.challenge?.length,
      userIdLength: options.data?.user?.id?.length,
    };
    out.badRegistration = brief(await device.raw("/passkey/verify-registration", {
      method: "POST", body: { response: { id: "AAAA", rawId: "AAAA", type: "public-key", response: { clientDataJSON: "e30", attestationObject: "oA" } } },
    }));
    out.signedInAuthenticateOptions = brief(await device.raw("/passkey/generate-authenticate-options", { method: "GET" }));
    out.deleteUnknown = brief(await device.call("passkey.deletePasskey", { id: "nope" }));
    out.updateUnknown = brief(await device.call("passkey.updatePasskey", { id: "nope", name: "x" }));
    out.updateEmptyName = brief(await device.call("passkey.updatePasskey", { id: "nope", name: " " }));
    return out;
  },
};

await runAndPrint(() => flows[flowName]());
