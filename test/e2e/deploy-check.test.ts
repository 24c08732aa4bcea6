// `npm run deploy:check`: the rules (scripts/deploy-findings.ts) on whole environments, and the
// command on the checked-in wrangler.toml, whose KV id is a placeholder until the operator
// fills it in. Secrets are not listed here (--no-secrets): the machines are offline.
import { spawnSync } from "node:child_process";
import { expect, it } from "vitest";
import { checkEnvironment, type Environment } from "../../scripts/deploy-findings";
import { ROOT } from "./registry-server";

const COMPLETE: Environment = {
  kv_namespaces: [{ binding: "UPLOADS", id: "0123456789abcdef0123456789abcdef" }],
  r2_buckets: [{ binding: "REGISTRY", bucket_name: "r2-registry" }],
  vars: { MAX_REQUEST_BODY_BYTES: "100000000" },
  limits: { cpu_ms: 300_000 },
  routes: [{ pattern: "registry.example.com", custom_domain: true }],
};
const SECRETS = ["JWT_STATE_SECRET", "USERNAME", "PASSWORD"];

it("finds nothing missing in a complete environment with its secrets", () => {
  expect(checkEnvironment(COMPLETE, "production", SECRETS)).toEqual({ missing: [], advice: [] });
});

it.each<[string, Environment, string[] | null, RegExp]>([
  [
    "placeholder KV id",
    { ...COMPLETE, kv_namespaces: [{ binding: "UPLOADS", id: "0".repeat(32) }] },
    SECRETS,
    /KV namespace id .* a placeholder/,
  ],
  ["no KV binding", { ...COMPLETE, kv_namespaces: [] }, SECRETS, /binding = "UPLOADS"/],
  ["no bucket", { ...COMPLETE, r2_buckets: [] }, SECRETS, /binding = "REGISTRY"/],
  ["no body limit", { ...COMPLETE, vars: {} }, SECRETS, /MAX_REQUEST_BODY_BYTES under \[env.production.vars\]/],
  ["a body limit in words", { ...COMPLETE, vars: { MAX_REQUEST_BODY_BYTES: "100 MB" } }, SECRETS, /whole number/],
  [
    "no JWT_STATE_SECRET",
    COMPLETE,
    ["USERNAME", "PASSWORD"],
    /JWT_STATE_SECRET .*wrangler secret put JWT_STATE_SECRET --env production/,
  ],
  ["a username without password", COMPLETE, ["JWT_STATE_SECRET", "USERNAME"], /credentials \(step 5\)/],
])("%s is missing", (_name, env, secrets, message) => {
  const { missing } = checkEnvironment(env, "production", secrets);
  expect(missing).toHaveLength(1);
  expect(missing[0]).toMatch(message);
});

const PRESIGNED_VARS = {
  ...COMPLETE.vars,
  BLOB_REDIRECT: "presigned",
  R2_ACCOUNT_ID: "0123456789abcdef0123456789abcdef",
  R2_BUCKET_NAME: "r2-registry",
};
const R2_SECRETS = [...SECRETS, "R2_ACCESS_KEY_ID", "R2_SECRET_ACCESS_KEY"];
const PUBLIC_ENV: Environment = {
  ...COMPLETE,
  vars: { ...COMPLETE.vars, BLOB_REDIRECT: "public:https://blobs.example.com", ANONYMOUS_PULL: "library/*" },
  r2_buckets: [...COMPLETE.r2_buckets!, { binding: "PUBLIC_BLOBS", bucket_name: "r2-registry-public" }],
};

it("takes a complete presigned or public delivery", () => {
  expect(checkEnvironment({ ...COMPLETE, vars: PRESIGNED_VARS }, "production", R2_SECRETS)).toEqual({
    missing: [],
    advice: [],
  });
  expect(checkEnvironment(PUBLIC_ENV, "production", SECRETS)).toEqual({ missing: [], advice: [] });
});

it.each<[string, Environment, RegExp]>([
  [
    "presigned without the account",
    { ...COMPLETE, vars: { ...PRESIGNED_VARS, R2_ACCOUNT_ID: undefined } },
    /R2_ACCOUNT_ID/,
  ],
  [
    "presigned naming another bucket",
    { ...COMPLETE, vars: { ...PRESIGNED_VARS, R2_BUCKET_NAME: "other" } },
    /must name the REGISTRY bucket/,
  ],
  ["public without its bucket", { ...PUBLIC_ENV, r2_buckets: COMPLETE.r2_buckets }, /binding = "PUBLIC_BLOBS"/],
  [
    "public on the registry's own bucket",
    { ...PUBLIC_ENV, r2_buckets: [...COMPLETE.r2_buckets!, { binding: "PUBLIC_BLOBS", bucket_name: "r2-registry" }] },
    /a bucket of its own/,
  ],
])("delivery: %s is missing", (_name, env, message) => {
  const { missing } = checkEnvironment(env, "production", R2_SECRETS);
  expect(missing).toHaveLength(1);
  expect(missing[0]).toMatch(message);
});

it("delivery: presigned without its secrets names both", () => {
  const { missing } = checkEnvironment({ ...COMPLETE, vars: PRESIGNED_VARS }, "production", SECRETS);
  expect(missing).toEqual([
    expect.stringMatching(/secret R2_ACCESS_KEY_ID/),
    expect.stringMatching(/secret R2_SECRET_ACCESS_KEY/),
  ]);
});

const QUEUES: Environment["queues"] = {
  producers: [{ binding: "EVENTS", queue: "registry-events" }],
  consumers: [
    { queue: "registry-events", dead_letter_queue: "registry-events-dlq", max_retries: 8 },
    { queue: "registry-events-dlq" },
  ],
};

it.each<[string, Environment, RegExp]>([
  [
    "webhooks without the producer",
    { ...COMPLETE, vars: { ...COMPLETE.vars, WEBHOOKS_JSON: "[]" } },
    /no .* binds EVENTS/,
  ],
  ["a producer without a consumer", { ...COMPLETE, queues: { producers: QUEUES.producers } }, /events would pile up/],
  [
    "a dead-letter queue under another name",
    { ...COMPLETE, vars: { ...COMPLETE.vars, EVENTS_DEAD_LETTER_QUEUE: "other-dlq" }, queues: QUEUES },
    /dead_letter_queue is "registry-events-dlq", but EVENTS_DEAD_LETTER_QUEUE is "other-dlq"/,
  ],
  [
    "no consumer of the dead-letter queue",
    { ...COMPLETE, queues: { ...QUEUES, consumers: QUEUES.consumers!.slice(0, 1) } },
    /for the dead-letter queue "registry-events-dlq"/,
  ],
])("events: %s is missing", (_name, env, message) => {
  const { missing } = checkEnvironment(env, "production", SECRETS);
  expect(missing).toHaveLength(1);
  expect(missing[0]).toMatch(message);
});

it("takes complete queues, with advice to create them", () => {
  const { missing, advice } = checkEnvironment({ ...COMPLETE, queues: QUEUES }, "production", SECRETS);
  expect(missing).toEqual([]);
  expect(advice).toEqual([expect.stringContaining("npx wrangler queues create registry-events-dlq")]);
});

it("advises on cpu_ms, routes and unchecked secrets without failing", () => {
  const { limits: _limits, routes: _routes, ...bare } = COMPLETE;
  const { missing, advice } = checkEnvironment(bare, "production", null);
  expect(missing).toEqual([]);
  expect(advice.map((line) => line.split(":")[0])).toEqual([
    "no [env.production.limits] cpu_ms",
    "no routes",
    "secrets not checked",
  ]);
});

it("npm run deploy:check names the checked-in placeholder KV id and exits 1", () => {
  const result = spawnSync(process.execPath, ["--import", "tsx", "scripts/deploy-check.ts", "--no-secrets"], {
    cwd: ROOT,
    encoding: "utf8",
  });
  expect(result.stdout).toContain('missing: the UPLOADS KV namespace id is "00000000000000000000000000000000"');
  expect(result.stdout).not.toMatch(/missing: MAX_REQUEST_BODY_BYTES/);
  expect(result.status).toBe(1);
});
