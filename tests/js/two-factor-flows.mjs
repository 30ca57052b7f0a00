// node two-factor-flows.mjs <serverURL> <flow> [args...]
//
// Two-factor journeys with the official client and its twoFactorClient plugin, unchanged, against
// our server; TOTP codes come from better-auth's own implementation (@better-auth/utils/otp).
// Prints one JSON document of what was observed; tests/auth/test_js_two_factor.py asserts on it.
// The flow "better-auth-row" runs a real better-auth server (memory adapter) instead, to hand the
// Python side a twoFactor row that better-auth itself produced.

import { createAuthClient } from "better-auth/client";
import { twoFactorClient } from "better-auth/client/plugins";
import { createOTP } from "@better-auth/utils/otp";
import { base32 } from "@better-auth/utils/base32";
import { BASE_PATH, Device, runAndPrint, uniqueEmail } from "./lib.mjs";

const [serverURL, flowName, ...args] = process.argv.slice(2);
const PASSWORD = "correct horse battery staple";
const TRUST = "better-auth.trust_device";

/** A Device whose client carries the twoFactor plugin; redirects are recorded, not navigated. */
class TwoFactorDevice extends Device {
  constructor(url, options) {
    super(url, options);
    this.redirects = [];
    this.client = createAuthClient({
      baseURL: this.serverURL + BASE_PATH,
      plugins: [twoFactorClient({ onTwoFactorRedirect: (ctx) => this.redirects.push(ctx.twoFactorMethods) })],
      fetchOptions: { customFetchImpl: (input, init) => this.fetch(input, init) },
    });
  }
}

/** The secret in a totpURI, as the string better-auth's createOTP expects (its UTF-8 bytes are the key). */
function secretOf(totpURI) {
  const encoded = new URL(totpURI).searchParams.get("secret");
  return new TextDecoder().decode(base32.decode(encoded));
}

/** better-auth's HOTP of the current 30 s step + `ahead`. */
async function codeAt(secret, ahead = 0) {
  return createOTP(secret).hotp(Math.floor(Date.now() / 30000) + ahead);
}

const brief = (r) => ({ status: r.status, code: r.code, data: r.data });

const flows = {
  // enable → verify (setup) → sign-out → sign-in challenge → verify with trustDevice → trusted sign-in
  // → backup code on another device → a reused backup code and a replayed TOTP refused → disable.
  async lifecycle() {
    const email = uniqueEmail("tfa");
    const device = new TwoFactorDevice(serverURL, { userAgent: "first" });
    await device.call("signUp.email", { email, password: PASSWORD, name: "Ada" });
    const enable = await device.call("twoFactor.enable", { password: PASSWORD });
    const secret = secretOf(enable.data.totpURI);
    const backupCodes = enable.data.backupCodes;
    const pendingSession = await device.session();
    const setup = await device.call("twoFactor.verifyTotp", { code: await codeAt(secret) });
    const afterSetup = await device.session();
    const signOut = await device.call("signOut");

    const challenge = await device.call("signIn.email", { email, password: PASSWORD });
    const duringChallenge = await device.session();
    const signInCode = await codeAt(secret, 1);
    const verify = await device.call("twoFactor.verifyTotp", { code: signInCode, trustDevice: true });
    const afterVerify = await device.session();
    const trustCookie = device.jar.get(TRUST) ?? null;
    await device.call("signOut");
    const trusted = await device.call("signIn.email", { email, password: PASSWORD });
    const trustCookieAfter = device.jar.get(TRUST) ?? null;

    const second = new TwoFactorDevice(serverURL, { userAgent: "second" });
    const secondChallenge = await second.call("signIn.email", { email, password: PASSWORD });
    const replay = await second.call("twoFactor.verifyTotp", { code: signInCode });
    const backup = await second.call("twoFactor.verifyBackupCode", { code: backupCodes[0] });
    const secondSession = await second.session();

    const third = new TwoFactorDevice(serverURL, { userAgent: "third" });
    await third.call("signIn.email", { email, password: PASSWORD });
    const reusedBackup = await third.call("twoFactor.verifyBackupCode", { code: backupCodes[0] });
    const noCookie = await new TwoFactorDevice(serverURL).call("twoFactor.verifyTotp", { code: signInCode });

    const regenerated = await device.call("twoFactor.generateBackupCodes", { password: PASSWORD });
    const uri = await device.call("twoFactor.getTotpUri", { password: PASSWORD });
    const disable = await device.call("twoFactor.disable", { password: PASSWORD });
    const afterDisable = await device.session();
    const fourth = new TwoFactorDevice(serverURL, { userAgent: "fourth" });
    const plainSignIn = await fourth.call("signIn.email", { email, password: PASSWORD });
    return {
      email,
      enable: { status: enable.status, uri: enable.data.totpURI, backupCodes: backupCodes.length },
      pendingEnabled: pendingSession.data?.user?.twoFactorEnabled ?? null,
      setup: { status: setup.status, enabled: setup.data?.user?.twoFactorEnabled ?? null },
      afterSetupEnabled: afterSetup.data?.user?.twoFactorEnabled ?? null,
      signOut: signOut.status,
      challenge: { ...brief(challenge), setAuthToken: challenge.headers["set-auth-token"] ?? null },
      redirects: device.redirects,
      duringChallenge: duringChallenge.data,
      verify: { status: verify.status, code: verify.code, email: verify.data?.user?.email ?? null,
                setAuthToken: verify.headers["set-auth-token"] ?? null, token: verify.data?.token ?? null },
      afterVerifyEmail: afterVerify.data?.user?.email ?? null,
      trustCookie: Boolean(trustCookie),
      trusted: { status: trusted.status, redirect: trusted.data?.twoFactorRedirect ?? false,
                 email: trusted.data?.user?.email ?? null },
      trustRotated: Boolean(trustCookieAfter) && trustCookieAfter !== trustCookie,
      secondChallenge: secondChallenge.data,
      replay: brief(replay),
      backup: { status: backup.status, email: backup.data?.user?.email ?? null },
      secondSessionEmail: secondSession.data?.user?.email ?? null,
      reusedBackup: brief(reusedBackup),
      noCookie: brief(noCookie),
      regenerated: { status: regenerated.status, count: regenerated.data?.backupCodes?.length ?? 0,
                     overlap: (regenerated.data?.backupCodes ?? []).filter((c) => backupCodes.includes(c)).length },
      sameSecret: uri.data ? secretOf(uri.data.totpURI) === secret : false,
      disable: brief(disable),
      afterDisableEnabled: afterDisable.data?.user?.twoFactorEnabled ?? null,
      trustAfterDisable: device.jar.get(TRUST) ?? null,
      plainSignIn: { status: plainSignIn.status, redirect: plainSignIn.data?.twoFactorRedirect ?? false,
                     email: plainSignIn.data?.user?.email ?? null },
    };
  },

  // A real better-auth 1.7.25 server enables TOTP for a user: its stored row, its URI, its backup codes
  // and a current code from its own OTP implementation. args: [secret].
  async "better-auth-row"() {
    const { betterAuth } = await import("better-auth");
    const { memoryAdapter } = await import("better-auth/adapters/memory");
    const { twoFactor } = await import("better-auth/plugins");
    const db = { user: [], session: [], account: [], verification: [], twoFactor: [] };
    const auth = betterAuth({
      database: memoryAdapter(db), secret: args[0], baseURL: "http://localhost:3000",
      emailAndPassword: { enabled: true }, plugins: [twoFactor()], logger: { disabled: true },
    });
    const signUp = await auth.api.signUpEmail({
      body: { email: "ba@example.com", password: PASSWORD, name: "Ba" }, asResponse: true,
    });
    const cookie = signUp.headers.getSetCookie().map((line) => line.split(";")[0]).join("; ");
    const enabled = await auth.api.enableTwoFactor({ body: { password: PASSWORD }, headers: new Headers({ cookie }) });
    const secret = secretOf(enabled.totpURI);
    return {
      row: { secret: db.twoFactor[0].secret, backupCodes: db.twoFactor[0].backupCodes },
      totpURI: enabled.totpURI,
      backupCodes: enabled.backupCodes,
      code: await codeAt(secret, 1),
    };
  },
};

runAndPrint(() => flows[flowName]());
