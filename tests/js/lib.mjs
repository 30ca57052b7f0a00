// Simulated browsers for the official better-auth client, and the file outbox the server writes.
//
// Node's fetch keeps no cookies, so each Device carries its own cookie jar (one jar = one browser
// = one session) and sends an Origin header as a browser would on a same-origin page. Every call
// goes through the unchanged `createAuthClient` from `better-auth/client`.

import { readFileSync, existsSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { createAuthClient } from "better-auth/client";

export const BASE_PATH = "/api/v1/auth";

/** A minimal cookie jar: name → value, honouring deletion (empty value, Max-Age<=0, past Expires). */
export class CookieJar {
  constructor() {
    this.cookies = new Map();
    this.lastSetCookies = [];
  }

  store(response) {
    const lines = response.headers.getSetCookie ? response.headers.getSetCookie() : [];
    this.lastSetCookies = lines;
    for (const line of lines) {
      const [pair, ...attrs] = line.split(";");
      const eq = pair.indexOf("=");
      if (eq < 1) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      let expired = value === "";
      for (const attr of attrs) {
        const [key, ...rest] = attr.trim().split("=");
        const val = rest.join("=");
        if (key.toLowerCase() === "max-age" && Number(val) <= 0) expired = true;
        if (key.toLowerCase() === "expires" && Date.parse(val) <= Date.now()) expired = true;
      }
      if (expired) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  header() {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join("; ");
  }

  get(name) {
    return this.cookies.get(name);
  }

  names() {
    return [...this.cookies.keys()].sort();
  }
}

/**
 * One simulated browser (or bearer client): an auth client, its cookie jar and its request log.
 *
 * options: origin (the Origin header; default the server's own origin, null for none),
 * userAgent (tells this device's session apart in list-sessions), cookies (false: keep no jar).
 */
export class Device {
  constructor(serverURL, { origin, userAgent = "js-client-test", cookies = true, headers = {} } = {}) {
    this.serverURL = serverURL.replace(/\/+$/, "");
    this.origin = origin === undefined ? new URL(this.serverURL).origin : origin;
    this.userAgent = userAgent;
    this.jar = cookies ? new CookieJar() : null;
    this.extraHeaders = headers;
    this.log = [];
    this.client = createAuthClient({
      baseURL: this.serverURL + BASE_PATH,
      fetchOptions: { customFetchImpl: (input, init) => this.fetch(input, init) },
    });
  }

  /** fetch with this device's cookies, Origin and User-Agent; records every response. */
  async fetch(input, init = {}) {
    const headers = new Headers(init.headers);
    for (const [name, value] of Object.entries(this.extraHeaders)) headers.set(name, value);
    if (this.origin) headers.set("origin", this.origin);
    headers.set("user-agent", this.userAgent);
    if (this.jar && this.jar.cookies.size) headers.set("cookie", this.jar.header());
    const response = await fetch(input, { ...init, headers });
    if (this.jar) this.jar.store(response);
    const url = new URL(typeof input === "string" ? input : input.url ?? String(input));
    this.log.push({ method: init.method ?? "GET", path: url.pathname, status: response.status, headers: response.headers });
    return response;
  }

  /**
   * Call a client method by its dotted name (`"signIn.email"`) and summarise the outcome:
   * {status, ok, code, message, data, headers} where headers holds the ones the protocol names.
   */
  async call(method, arg, fetchOptions = {}) {
    const fn = method.split(".").reduce((obj, key) => obj[key], this.client);
    let response = null;
    const result = await fn(arg, {
      ...fetchOptions,
      onResponse: (ctx) => {
        response = ctx.response;
      },
    });
    const { data, error } = result;
    return {
      status: response ? response.status : error?.status ?? null,
      ok: !error,
      code: error?.code ?? null,
      message: error?.message ?? null,
      data: data ?? null,
      headers: response ? pickHeaders(response.headers) : {},
    };
  }

  /** The current session via the client (`getSession`), bypassing any cookie cache. */
  async session(fetchOptions = {}) {
    return this.call("getSession", { query: { disableCookieCache: true } }, fetchOptions);
  }

  /** A plain GET that does not follow redirects: for links from mails. */
  async get(url) {
    return this.fetch(url, { method: "GET", redirect: "manual" });
  }
}

export function pickHeaders(headers) {
  const out = {};
  for (const name of [
    "set-auth-token",
    "access-control-expose-headers",
    "cache-control",
    "pragma",
    "location",
    "content-type",
  ]) {
    const value = headers.get(name);
    if (value !== null) out[name] = value;
  }
  const setCookie = headers.getSetCookie ? headers.getSetCookie() : [];
  if (setCookie.length) out["set-cookie"] = setCookie;
  return out;
}

/** Every mail in the JSON-lines outbox (`to, subject, text, url`), oldest first. */
export function readOutbox(path) {
  if (!existsSync(path)) return [];
  return readFileSync(path, "utf8")
    .split("\n")
    .filter((line) => line.trim())
    .map((line) => JSON.parse(line));
}

/** The newest mail to `to` beyond the first `after` mails; waits a little for a slow sender. */
export async function waitForMail(path, to, { after = 0, timeoutMs = 5000 } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const mails = readOutbox(path).slice(after).filter((mail) => mail.to === to);
    if (mails.length) return mails[mails.length - 1];
    if (Date.now() > deadline) throw new Error(`no mail to ${to} in ${path} after ${timeoutMs} ms`);
    await sleep(50);
  }
}

/** A unique email address per run, so flows never collide. */
export function uniqueEmail(label) {
  return `${label}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}@example.com`;
}

/** The raw session token inside a signed cookie value (`<token>.<base64 hmac>`, URL-encoded). */
export function tokenOfCookie(value) {
  if (!value) return null;
  const decoded = decodeURIComponent(value);
  return decoded.slice(0, decoded.lastIndexOf("."));
}

/** Run `main` and print its result as one JSON line (the pytest side parses the last line). */
export async function runAndPrint(main) {
  try {
    const result = await main();
    // exit only once the pipe took everything: process.exit() drops a write larger than its buffer (64 KiB)
    process.stdout.write(JSON.stringify(result) + "\n", () => process.exit(0));
  } catch (error) {
    process.stderr.write(`${error?.stack ?? error}\n`);
    process.exit(1);
  }
}
