// better-auth's own crypto, run against values made by our Python code (tests/auth/test_better_auth_crypto_compat.py).
//
// Input: argv[2] is JSON {secret, otherSecret, values, password, passwordVariant, wrongPassword, plaintext, ours}
// where `ours` holds what Python produced: {cookies: [...], scrypt, encrypted}.
// Output (last line): JSON with what better-auth produced and what it thought of ours.
import { createInternalContext, serializeSignedCookie } from "better-call";
import { hashPassword, symmetricDecrypt, symmetricEncrypt, verifyPassword } from "better-auth/crypto";

const input = JSON.parse(process.argv[2]);
const { secret, otherSecret } = input;

// The server's own path for reading a signed cookie: better-call's getSignedCookie on a Cookie header.
async function readSignedCookie(cookieValue, key) {
  const ctx = await createInternalContext(
    { headers: { cookie: `c=${cookieValue}` } },
    { options: { method: "GET" }, path: "/" },
  );
  return await ctx.getSignedCookie("c", key);
}

async function tryDecrypt(data, key) {
  try {
    return { ok: true, value: await symmetricDecrypt({ key, data }) };
  } catch (error) {
    return { ok: false, error: String(error) };
  }
}

const signed = [];
for (const value of input.values) {
  const header = await serializeSignedCookie("c", value, secret);
  signed.push(header.slice("c=".length).split(";")[0]);
}

const ours = input.ours;
const result = {
  signed,
  oursVerified: await Promise.all(ours.cookies.map((cookie) => readSignedCookie(cookie, secret))),
  oursWithOtherSecret: await Promise.all(ours.cookies.map((cookie) => readSignedCookie(cookie, otherSecret))),
  scrypt: await hashPassword(input.password),
  oursScryptRight: await verifyPassword({ hash: ours.scrypt, password: input.password }),
  oursScryptVariant: await verifyPassword({ hash: ours.scrypt, password: input.passwordVariant }),
  oursScryptWrong: await verifyPassword({ hash: ours.scrypt, password: input.wrongPassword }),
  encrypted: await symmetricEncrypt({ key: secret, data: input.plaintext }),
  oursDecrypted: await tryDecrypt(ours.encrypted, secret),
  oursDecryptedOtherSecret: await tryDecrypt(ours.encrypted, otherSecret),
};
console.log(JSON.stringify(result));
