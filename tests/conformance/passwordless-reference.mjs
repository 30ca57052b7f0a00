// node passwordless-reference.mjs <outboxPath>
//
// A real better-auth 1.7.25 server (memory adapter) with the passwordless plugins as our server
// speaks them: emailOTP, magicLink (better-auth) and passkey (@better-auth/passkey 1.7.6), email
// and password on, basePath /api/v1/auth, rate limits off. Every mail is appended to <outboxPath>
// as one JSON line (to, subject, text, url), the format of our file mail backend: a code is the
// text, a link the url. Prints {"url": ...} once listening; ends when stdin closes.

import { appendFileSync } from "node:fs";
import { createServer } from "node:http";
import { load } from "./deps.mjs";

const [outboxPath] = process.argv.slice(2);
const { betterAuth } = await load("better-auth");
const { toNodeHandler } = await load("better-auth/node");
const { memoryAdapter } = await load("better-auth/adapters/memory");
const { emailOTP, magicLink } = await load("better-auth/plugins");
const { passkey } = await load("@better-auth/passkey");

function mail(to, subject, text, url = null) {
  appendFileSync(outboxPath, JSON.stringify({ to, subject, text, url }) + "\n");
}

const server = createServer();
await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
const origin = `http://127.0.0.1:${server.address().port}`;

const auth = betterAuth({
  appName: "SaaS foundation",
  baseURL: origin,
  basePath: "/api/v1/auth",
  secret: process.env.BA_SECRET || "reference-secret-0123456789-abcdefghijklmnop",
  trustedOrigins: (process.env.BA_TRUSTED_ORIGINS || "").split(",").filter(Boolean),
  database: memoryAdapter({ user: [], session: [], account: [], verification: [], passkey: [] }),
  logger: { disabled: true },
  rateLimit: { enabled: false },
  emailAndPassword: { enabled: true },
  plugins: [
    emailOTP({ sendVerificationOTP: async ({ email, otp, type }) => mail(email, `code ${type}`, `Your code:\n${otp}\n`) }),
    magicLink({ sendMagicLink: async ({ email, url }) => mail(email, "Sign in", url, url) }),
    passkey({ rpName: "SaaS foundation" }),
  ],
});

server.on("request", toNodeHandler(auth));
process.stdout.write(JSON.stringify({ url: origin }) + "\n");
const stop = () => server.close(() => process.exit(0));
process.on("SIGTERM", stop);
process.stdin.on("end", stop);
process.stdin.resume();
