// The rules of `npm run deploy:check` (scripts/deploy-check.ts): what an environment of
// wrangler.toml, with the secrets set for it, lacks for a working production registry. Pure.

/** Any one of these lets someone sign in (docs/auth.md); without one every request is refused. */
const CREDENTIALS = [
  ["USERNAME", "PASSWORD"],
  ["READONLY_USERNAME", "READONLY_PASSWORD"],
  ["JWT_REGISTRY_TOKENS_PUBLIC_KEY"],
  ["AUTH_USERS_JSON"],
] as const;

export interface Environment {
  kv_namespaces?: { binding: string; id?: string }[];
  r2_buckets?: { binding: string; bucket_name?: string }[];
  vars?: Record<string, unknown>;
  limits?: { cpu_ms?: number };
  routes?: unknown[];
  route?: unknown;
  workers_dev?: boolean;
  queues?: {
    producers?: { binding: string; queue: string }[];
    consumers?: { queue: string; dead_letter_queue?: string; max_retries?: number }[];
  };
}

/** BLOB_REDIRECT (docs/delivery.md): what each mode needs beside its variable. The Worker
 *  refuses a half-configured mode at run time too; this says so before the deploy. */
function checkDelivery(
  env: Environment,
  envName: string,
  secrets: string[] | null,
  missing: string[],
  advice: string[],
): void {
  const vars = env.vars ?? {};
  const mode = String(vars.BLOB_REDIRECT ?? "").trim();
  const registry = env.r2_buckets?.find((b) => b.binding === "REGISTRY");
  if (mode === "presigned") {
    if (vars.R2_ACCOUNT_ID === undefined && vars.R2_S3_ENDPOINT === undefined)
      missing.push(`BLOB_REDIRECT=presigned: R2_ACCOUNT_ID under [env.${envName}.vars] (docs/delivery.md)`);
    if (registry?.bucket_name && vars.R2_BUCKET_NAME !== registry.bucket_name)
      missing.push(
        `BLOB_REDIRECT=presigned: R2_BUCKET_NAME must name the REGISTRY bucket, ${JSON.stringify(registry.bucket_name)}`,
      );
    const unset = ["R2_ACCESS_KEY_ID", "R2_SECRET_ACCESS_KEY"].filter((name) => secrets && !secrets.includes(name));
    for (const name of unset)
      missing.push(`BLOB_REDIRECT=presigned: the secret ${name}: npx wrangler secret put ${name} --env ${envName}`);
  } else if (mode.startsWith("public:")) {
    const publicBucket = env.r2_buckets?.find((b) => b.binding === "PUBLIC_BLOBS");
    if (!publicBucket?.bucket_name)
      missing.push(
        `BLOB_REDIRECT=public: [[env.${envName}.r2_buckets]] with binding = "PUBLIC_BLOBS" (docs/delivery.md)`,
      );
    else if (publicBucket.bucket_name === registry?.bucket_name)
      missing.push(
        "BLOB_REDIRECT=public: PUBLIC_BLOBS must be a bucket of its own; a public domain on the REGISTRY bucket publishes private content",
      );
    if (!vars.ANONYMOUS_PULL)
      advice.push("BLOB_REDIRECT=public without ANONYMOUS_PULL: no repository is public, so nothing is redirected");
  }
}

/** The events queue (docs/events.md): a producer needs a consumer, the consumer a dead-letter
 *  queue whose name EVENTS_DEAD_LETTER_QUEUE gives, and webhooks need the producer. */
function checkQueues(env: Environment, envName: string, missing: string[], advice: string[]): void {
  const vars = env.vars ?? {};
  const producer = env.queues?.producers?.find((p) => p.binding === "EVENTS");
  if (!producer) {
    if (vars.WEBHOOKS_JSON !== undefined)
      missing.push(
        `WEBHOOKS_JSON is set but no [[env.${envName}.queues.producers]] binds EVENTS: nothing is delivered`,
      );
    return;
  }
  const consumer = env.queues?.consumers?.find((c) => c.queue === producer.queue);
  if (!consumer) {
    missing.push(`no [[env.${envName}.queues.consumers]] for queue "${producer.queue}": events would pile up`);
    return;
  }
  const dlq = String(vars.EVENTS_DEAD_LETTER_QUEUE ?? "registry-events-dlq");
  if (consumer.dead_letter_queue !== dlq)
    missing.push(
      `the "${producer.queue}" consumer's dead_letter_queue is ${JSON.stringify(consumer.dead_letter_queue ?? null)}, ` +
        `but EVENTS_DEAD_LETTER_QUEUE is "${dlq}": deliveries that run out of retries would be lost or re-sent`,
    );
  else if (!env.queues?.consumers?.some((c) => c.queue === dlq))
    missing.push(
      `no [[env.${envName}.queues.consumers]] for the dead-letter queue "${dlq}": nothing records what lands there`,
    );
  advice.push(
    `queues: create them once with \`npx wrangler queues create ${producer.queue}\` and ` +
      `\`npx wrangler queues create ${dlq}\` (docs/events.md)`,
  );
}

export interface Findings {
  missing: string[];
  advice: string[];
}

/** What the config's environment lacks, given the names of the secrets set (null: unknown). */
export function checkEnvironment(env: Environment, envName: string, secrets: string[] | null): Findings {
  const missing: string[] = [];
  const advice: string[] = [];
  const table = (name: string) => `[[env.${envName}.${name}]]`;
  const kv = env.kv_namespaces?.find((k) => k.binding === "UPLOADS");
  if (!kv) missing.push(`${table("kv_namespaces")} with binding = "UPLOADS" (README "Deploy", step 3)`);
  else if (!/^[0-9a-f]{32}$/.test(kv.id ?? "") || /^0+$/.test(kv.id ?? ""))
    missing.push(
      `the UPLOADS KV namespace id is ${JSON.stringify(kv.id ?? "")}, a placeholder: run ` +
        "`npx wrangler kv namespace create r2_registry_uploads` and put the printed id there (step 3)",
    );
  const r2 = env.r2_buckets?.find((b) => b.binding === "REGISTRY");
  if (!r2?.bucket_name) missing.push(`${table("r2_buckets")} with binding = "REGISTRY" and a bucket_name (step 2)`);

  const vars = env.vars ?? {};
  const body = vars.MAX_REQUEST_BODY_BYTES;
  if (body === undefined)
    missing.push(`MAX_REQUEST_BODY_BYTES under [env.${envName}.vars]: your plan's body limit (step 6)`);
  else if (!/^[1-9]\d*$/.test(String(body)))
    missing.push(`MAX_REQUEST_BODY_BYTES must be a whole number of bytes, got ${JSON.stringify(body)}`);
  if (env.limits?.cpu_ms === undefined)
    advice.push(
      `no [env.${envName}.limits] cpu_ms: requests get 30 s of CPU (paid plans); chunked pushes of ` +
        "layers of 500 MiB and more need more (the README's CPU table; paid plans only)",
    );
  if (env.routes === undefined && env.route === undefined)
    advice.push(
      `no routes: the registry answers on *.workers.dev only; a custom domain (routes = [{ pattern = ` +
        `"registry.example.com", custom_domain = true }]) is needed for the edge cache and a stable PUBLIC_URL`,
    );

  checkQueues(env, envName, missing, advice);
  checkDelivery(env, envName, secrets, missing, advice);

  if (secrets === null) {
    advice.push(
      `secrets not checked: make sure \`npx wrangler secret list --env ${envName}\` shows JWT_STATE_SECRET ` +
        "and one credential kind (USERNAME+PASSWORD, READONLY_USERNAME+READONLY_PASSWORD, " +
        "JWT_REGISTRY_TOKENS_PUBLIC_KEY or AUTH_USERS_JSON)",
    );
    return { missing, advice };
  }
  const set = new Set([...secrets, ...Object.keys(vars)]);
  const put = (name: string) => `npx wrangler secret put ${name} --env ${envName}`;
  if (!set.has("JWT_STATE_SECRET")) missing.push(`the secret JWT_STATE_SECRET (step 4): ${put("JWT_STATE_SECRET")}`);
  if (!CREDENTIALS.some((names) => names.every((name) => set.has(name))))
    missing.push(
      "credentials (step 5): none of USERNAME+PASSWORD, READONLY_USERNAME+READONLY_PASSWORD, " +
        `JWT_REGISTRY_TOKENS_PUBLIC_KEY or AUTH_USERS_JSON is set; e.g. ${put("USERNAME")} and ${put("PASSWORD")}`,
    );
  return { missing, advice };
}
