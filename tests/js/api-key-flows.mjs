// node api-key-flows.mjs <serverURL> <flow> [args...]
//
// The official client with `apiKeyClient` (@better-auth/api-key/client) and `jwtClient` against our
// server; prints one JSON document of what it observed. tests/auth/test_js_api_key.py asserts on it.

import { createAuthClient } from "better-auth/client";
import { jwtClient } from "better-auth/client/plugins";
import { apiKeyClient } from "@better-auth/api-key/client";
import { defaultKeyHasher } from "@better-auth/api-key";
import { Device, runAndPrint, uniqueEmail } from "./lib.mjs";

const [serverURL, flowName, ...args] = process.argv.slice(2);
const PASSWORD = "correct horse battery staple";

/** A Device whose client also carries the api-key and jwt plugin clients. */
function pluginDevice(options = {}) {
  const device = new Device(serverURL, options);
  device.client = createAuthClient({
    baseURL: device.serverURL + "/api/v1/auth",
    plugins: [apiKeyClient(), jwtClient()],
    fetchOptions: { customFetchImpl: (input, init) => device.fetch(input, init) },
  });
  return device;
}

function outcome(result) {
  return { status: result.status, code: result.code, data: result.data };
}

const flows = {
  // create, list, get, update, delete through the client; the key then authenticates get-session.
  async crud() {
    const device = pluginDevice();
    const email = uniqueEmail("apikey");
    await device.call("signUp.email", { email, password: PASSWORD, name: "Keys" });
    const created = await device.call("apiKey.create", { name: "ci", prefix: "ba_", expiresIn: 7 * 86400, metadata: { env: "ci" } });
    const key = created.data?.key;
    const keyId = created.data?.id;
    const listed = await device.call("apiKey.list", {});
    const fetched = await device.call("apiKey.get", { query: { id: keyId } });
    const renamed = await device.call("apiKey.update", { keyId, name: "renamed" });
    const serverOnly = await device.call("apiKey.create", { name: "x", rateLimitMax: 1000 });

    const keyHolder = new Device(serverURL, { cookies: false, origin: null, headers: { "x-api-key": key } });
    const asKey = await keyHolder.session();

    const disabled = await device.call("apiKey.update", { keyId, enabled: false });
    const asDisabled = await keyHolder.session();
    const deleted = await device.call("apiKey.delete", { keyId });
    const asDeleted = await keyHolder.session();
    const listedAfter = await device.call("apiKey.list", {});
    return {
      email,
      created: outcome(created),
      listed: outcome(listed),
      fetched: outcome(fetched),
      renamed: outcome(renamed),
      serverOnly: outcome(serverOnly),
      asKey: outcome(asKey),
      disabled: outcome(disabled),
      asDisabled: outcome(asDisabled),
      deleted: outcome(deleted),
      asDeleted: outcome(asDeleted),
      listedAfter: outcome(listedAfter),
      betterAuthHash: key ? await defaultKeyHasher(key) : null,
    };
  },

  // A JWT from /token (client: `token`) and the JWKS (client: `jwks`), for jwt-verify.mjs.
  async token() {
    const device = pluginDevice();
    const email = args[0] ?? uniqueEmail("jwt");
    const signUp = await device.call("signUp.email", { email, password: PASSWORD, name: "Jwt" });
    if (!signUp.ok) await device.call("signIn.email", { email, password: PASSWORD });
    const token = await device.call("token");
    const session = await device.session();
    const jwks = await device.call("jwks");
    return {
      email,
      token: token.data?.token ?? null,
      jwks: jwks.data,
      tokenStatus: token.status,
    };
  },
};

runAndPrint(() => flows[flowName]());
