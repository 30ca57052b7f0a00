// node jwt-verify.mjs <jwksURL> <issuer> <audience> <token>...
//
// Verifies each token with `jose` (an implementation we did not write) against the live JWKS,
// fetched over HTTP with createRemoteJWKSet. Prints [{ok, alg, kid, sub, error}] per token.

import { createRemoteJWKSet, jwtVerify, decodeProtectedHeader } from "jose";
import { runAndPrint } from "./lib.mjs";

const [jwksURL, issuer, audience, ...tokens] = process.argv.slice(2);

runAndPrint(async () => {
  const jwks = createRemoteJWKSet(new URL(jwksURL));
  const results = [];
  for (const token of tokens) {
    const header = decodeProtectedHeader(token);
    try {
      const { payload } = await jwtVerify(token, jwks, { issuer, audience });
      results.push({ ok: true, alg: header.alg, kid: header.kid, sub: payload.sub, email: payload.email, error: null });
    } catch (error) {
      results.push({ ok: false, alg: header.alg, kid: header.kid, sub: null, email: null, error: error.code ?? String(error) });
    }
  }
  return results;
});
