// Housekeeping run by the cron trigger: expires abandoned upload sessions. Each run does a
// bounded amount of work and keeps a cursor in R2, so a bucket with many sessions is covered
// over several runs.
import { parseConfig, type Env } from "../config";
import { keys } from "../storage/keys";
import { readUploadState } from "../storage/uploads";
import { runCollectorStep } from "../gc/collector";
import { closeSession } from "./uploads";

const SESSIONS_PER_RUN = 200;

export interface ExpiryReport {
  scanned: number;
  expired: number;
  finished: boolean;
}

export async function expireUploads(env: Env, now = Date.now()): Promise<ExpiryReport> {
  const config = parseConfig(env);
  const deps = { bucket: env.REGISTRY, kv: env.UPLOADS, config };
  const cursorObject = await env.REGISTRY.get(keys.uploadExpiryCursor());
  const cursor = cursorObject ? await cursorObject.text() : undefined;
  const page = await env.REGISTRY.list({ prefix: keys.uploadsPrefix(), delimiter: "/", limit: SESSIONS_PER_RUN, cursor: cursor || undefined });
  let expired = 0;
  for (const prefix of page.delimitedPrefixes) {
    const id = prefix.slice(keys.uploadsPrefix().length, -1);
    const versioned = await readUploadState(env.REGISTRY, id);
    const age = versioned ? now - versioned.state.updatedAt : Infinity;
    if (age > config.uploadMaxAgeSeconds * 1000) {
      if (versioned) await closeSession(deps, versioned.state);
      else await deleteOrphanTails(env.REGISTRY, prefix);
      expired++;
    }
  }
  if (page.truncated) await env.REGISTRY.put(keys.uploadExpiryCursor(), page.cursor);
  else await env.REGISTRY.delete(keys.uploadExpiryCursor());
  const report = { scanned: page.delimitedPrefixes.length, expired, finished: !page.truncated };
  console.log("upload expiry", JSON.stringify(report));
  return report;
}

async function deleteOrphanTails(bucket: R2Bucket, prefix: string): Promise<void> {
  const listed = await bucket.list({ prefix, limit: 1000 });
  if (listed.objects.length > 0) await bucket.delete(listed.objects.map((o) => o.key));
}

export async function runScheduled(env: Env, _cron: string): Promise<void> {
  await expireUploads(env);
  // One bounded garbage collection step per trigger; the cursor carries the cycle on.
  if (parseConfig(env).gc.scheduled) await runCollectorStep(env, { trigger: "cron" });
}
