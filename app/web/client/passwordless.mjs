// Source of static/passwordless.js (built by scripts/build-web-client.sh with esbuild): the
// passwordless page driven by the official better-auth client and its plugin clients, unchanged.
// Rendering uses textContent only (no HTML from data), and the page runs under a strict CSP.

import { createAuthClient } from "better-auth/client";
import { emailOTPClient, magicLinkClient } from "better-auth/client/plugins";
import { passkeyClient } from "@better-auth/passkey/client";

const client = createAuthClient({
  baseURL: `${window.location.origin}/api/v1/auth`,
  plugins: [passkeyClient(), magicLinkClient(), emailOTPClient()],
});
// The page's client, for scripts and tests that drive it (the official API, nothing added).
window.authClient = client;

const $ = (selector) => document.querySelector(selector);

function say(selector, text) {
  const element = $(selector);
  if (element) element.textContent = text;
}

function failed(selector, error) {
  say(selector, error?.message || error?.code || "Something went wrong. Try again.");
}

async function refresh() {
  const { data } = await client.getSession({ query: { disableCookieCache: true } });
  const signedIn = Boolean(data?.user);
  $("#anonymous").hidden = signedIn;
  $("#account").hidden = !signedIn;
  say("#who", signedIn ? data.user.email : "");
  if (signedIn && $("#passkeys")) await listPasskeys();
  document.body.dataset.state = signedIn ? "signed-in" : "anonymous";
}

async function listPasskeys() {
  const { data, error } = await client.passkey.listUserPasskeys();
  const list = $("#passkeys");
  list.replaceChildren();
  if (error) return failed("#passkey-status", error);
  for (const passkey of data) {
    const item = document.createElement("li");
    item.dataset.passkeyId = passkey.id;
    const label = document.createElement("span");
    label.textContent = passkey.name || "Passkey";
    const rename = document.createElement("button");
    rename.type = "button";
    rename.textContent = `Rename ${label.textContent}`;
    rename.addEventListener("click", async () => {
      const name = $("#passkey-name").value.trim();
      const result = await client.passkey.updatePasskey({ id: passkey.id, name });
      if (result.error) return failed("#passkey-status", result.error);
      await listPasskeys();
    });
    const remove = document.createElement("button");
    remove.type = "button";
    remove.textContent = `Delete ${label.textContent}`;
    remove.addEventListener("click", async () => {
      const result = await client.passkey.deletePasskey({ id: passkey.id });
      if (result.error) return failed("#passkey-status", result.error);
      say("#passkey-status", "Passkey deleted.");
      await listPasskeys();
    });
    item.append(label, " ", rename, " ", remove);
    list.append(item);
  }
}

async function signInWithPasskey(autoFill) {
  const result = await client.signIn.passkey(autoFill ? { autoFill: true } : undefined);
  if (result.error) {
    if (!autoFill) failed("#sign-in-status", result.error);
    return;
  }
  if (result.data?.twoFactorRedirect) {
    say("#sign-in-status", "Enter your second factor to finish signing in.");
    return;
  }
  say("#sign-in-status", "");
  await refresh();
}

function on(selector, event, handler) {
  const element = $(selector);
  if (!element) return; // that plugin is off: its part of the page is not there
  element.addEventListener(event, async (e) => {
    e.preventDefault();
    await handler(e);
  });
}

document.addEventListener("DOMContentLoaded", async () => {
  on("#passkey-sign-in", "click", () => signInWithPasskey(false));
  on("#magic-link", "submit", async () => {
    const result = await client.signIn.magicLink({ email: $("#link-email").value, callbackURL: "/passwordless" });
    if (result.error) return failed("#link-status", result.error);
    say("#link-status", "Check your mail for the sign-in link.");
  });
  on("#otp-send", "click", async () => {
    const result = await client.emailOtp.sendVerificationOtp({ email: $("#otp-email").value, type: "sign-in" });
    if (result.error) return failed("#otp-status", result.error);
    say("#otp-status", "Check your mail for the code.");
  });
  on("#otp-form", "submit", async () => {
    const result = await client.signIn.emailOtp({ email: $("#otp-email").value, otp: $("#otp-code").value });
    if (result.error) return failed("#otp-status", result.error);
    say("#otp-status", "");
    await refresh();
  });
  on("#add-passkey", "submit", async () => {
    const name = $("#passkey-name").value.trim() || undefined;
    const result = await client.passkey.addPasskey({ name });
    if (result.error) return failed("#passkey-status", result.error);
    say("#passkey-status", "Passkey added.");
    await listPasskeys();
  });
  on("#sign-out", "click", async () => {
    await client.signOut();
    await refresh(); // conditional UI starts with the next page load, not at once

  });
  await refresh();
  startConditionalUI();
});

// Conditional UI (WebAuthn L3 §5.1.4, mediation "conditional"): the browser offers passkeys in the
// email field's autofill; picking one signs in without a button.
async function startConditionalUI() {
  if (document.body.dataset.state !== "anonymous" || !$("#passkey-sign-in")) return;
  if (!window.PublicKeyCredential?.isConditionalMediationAvailable) return;
  if (!(await PublicKeyCredential.isConditionalMediationAvailable())) return;
  document.body.dataset.conditional = "waiting";
  await signInWithPasskey(true);
}
