// node reference-server.mjs <outboxPath>
//
// A real better-auth 1.7.25 server (memory adapter) configured like ours: basePath /api/v1/auth,
// plugins bearer, twoFactor (with the OTP method, codes to the outbox), admin, organization (with teams), apiKey (@better-auth/api-key, with
// enableSessionForAPIKeys, enableMetadata and its rate limit off, as ours) and jwt; user additionalFields firstname, lastname, bio; change-email
// and delete-user enabled; every mail appended to <outboxPath> as one JSON line (to, subject, text,
// url), the format of our file mail backend.
//
// Environment: BA_SECRET (the signing secret), BA_TRUSTED_ORIGINS (comma separated),
// BA_ADMIN_EMAIL / BA_ADMIN_PASSWORD (an admin created at start, as our ADMIN__* bootstrap does).
// Listens on 127.0.0.1 on a free port and prints {"url": "http://127.0.0.1:PORT"} once ready;
// runs until killed or until its stdin closes (the parent died).

import { appendFileSync } from "node:fs";
import { createServer } from "node:http";
import { load } from "./deps.mjs";

const [outboxPath] = process.argv.slice(2);
const { betterAuth } = await load("better-auth");
const { toNodeHandler } = await load("better-auth/node");
const { memoryAdapter } = await load("better-auth/adapters/memory");
const { bearer, twoFactor, admin, organization, jwt, openAPI } = await load("better-auth/plugins");
const { apiKey } = await load("@better-auth/api-key");

function mail(to, subject, url) {
  if (outboxPath) appendFileSync(outboxPath, JSON.stringify({ to, subject, text: url, url }) + "\n");
}

const server = createServer();
await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
const origin = `http://127.0.0.1:${server.address().port}`;

const db = {
  user: [], session: [], account: [], verification: [], twoFactor: [],
  organization: [], member: [], invitation: [], team: [], teamMember: [], apikey: [], jwks: [],
};

const auth = betterAuth({
  appName: "SaaS foundation",
  baseURL: origin,
  basePath: "/api/v1/auth",
  secret: process.env.BA_SECRET || "reference-secret-0123456789-abcdefghijklmnop",
  trustedOrigins: (process.env.BA_TRUSTED_ORIGINS || "").split(",").filter(Boolean),
  database: memoryAdapter(db),
  logger: { disabled: true },
  rateLimit: { enabled: false },
  emailAndPassword: {
    enabled: true,
    sendResetPassword: async ({ user, url }) => mail(user.email, "Reset your password", url),
  },
  emailVerification: {
    sendVerificationEmail: async ({ user, url }) => mail(user.email, "Verify your email address", url),
  },
  user: {
    additionalFields: {
      firstname: { type: "string", required: false },
      lastname: { type: "string", required: false },
      bio: { type: "string", required: false },
    },
    changeEmail: { enabled: true },
    deleteUser: { enabled: true },
  },
  plugins: [
    bearer(),
    twoFactor({ otpOptions: { sendOTP: async ({ user, otp }) => mail(user.email, "Two-factor code", otp) } }),
    admin(),
    organization({
      teams: { enabled: true },
      sendInvitationEmail: async ({ email, id }) => mail(email, "Invitation", `${origin}/accept-invitation/${id}`),
    }),
    apiKey({ enableSessionForAPIKeys: true, enableMetadata: true, rateLimit: { enabled: false } }),
    jwt(),
    openAPI(),
  ],
});

// A SQL database answers null for a column never written; the memory adapter stores only the keys
// it was given, so its records lack them and better-auth's JSON omits them. Fill them in, so that
// null-vs-omitted differences found by the comparison are better-auth's, not the adapter's.
const context = await auth.$context;
function withNulls(adapter) {
  const create = adapter.create.bind(adapter);
  adapter.create = async (args) => {
    const fields = context.tables[args.model]?.fields ?? {};
    const data = { ...args.data };
    for (const [name, spec] of Object.entries(fields)) {
      if (data[name] === undefined && spec.defaultValue === undefined) data[name] = null;
    }
    return create({ ...args, data });
  };
  const transaction = adapter.transaction?.bind(adapter);
  if (transaction) adapter.transaction = (fn) => transaction((trx) => fn(withNulls(trx)));
  return adapter;
}
withNulls(context.adapter);

if (process.env.BA_ADMIN_EMAIL) {
  await auth.api.createUser({
    body: { email: process.env.BA_ADMIN_EMAIL, password: process.env.BA_ADMIN_PASSWORD, name: "Admin", role: "admin" },
  });
}

server.on("request", toNodeHandler(auth));
process.stdout.write(JSON.stringify({ url: origin }) + "\n");

const stop = () => server.close(() => process.exit(0));
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
process.stdin.on("end", stop);
process.stdin.resume();
