// Pushes a planned image: blobs in parallel (--jobs), then manifests children first, then
// the tag. Returns the numbers the summary shows.
import { backoffDelay } from "./chunk-plan.js";
import { isRetryable } from "./errors.js";
import { uploadBlob, type BlobResult, type UploadContext } from "./blob-upload.js";
import { planImage, type ManifestItem } from "./image-plan.js";
import type { ImageSource } from "./image-source.js";
import type { Reporter } from "./progress.js";
import type { RegistryClient } from "./registry-client.js";

export interface PushOptions {
  platforms: string[];
  jobs: number;
  retries: number;
  /** Called once every blob is in the target, with their digests (for the mount record). */
  pushed?: (digests: string[]) => void;
}

export interface PushSummary {
  reference: string;
  digest: string;
  mediaType: string;
  manifests: number;
  blobs: number;
  bytesTotal: number;
  bytesSent: number;
  /** Everything not sent: bytesResumed + bytesExisted + bytesMounted. */
  bytesSkipped: number;
  /** Bytes an earlier, interrupted run had uploaded, continued in their sessions. */
  bytesResumed: number;
  bytesExisted: number;
  bytesMounted: number;
  /** Blobs (not bytes) by outcome. */
  resumed: number;
  existed: number;
  mounted: number;
  seconds: number;
  /** Set when --platform made a new index (its digest differs from the source's). */
  note?: string;
}

/** Runs `work` over `items` with at most `jobs` at a time; the first failure stops the rest. */
export async function runPool<T, R>(items: T[], jobs: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (!failed && next < items.length) {
      const index = next++;
      try {
        results[index] = await work(items[index]!);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(jobs, items.length)) }, worker));
  return results;
}

/** PUT of a manifest is idempotent, so 5xx answers and resets are retried with backoff. */
export async function putManifest(
  client: RegistryClient,
  item: ManifestItem,
  reference: string,
  retries = 5,
): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await putManifestOnce(client, item, reference);
    } catch (error) {
      if (!isRetryable(error) || attempt > retries) throw error;
      await new Promise((resolve) => setTimeout(resolve, backoffDelay(attempt)));
    }
  }
}

async function putManifestOnce(client: RegistryClient, item: ManifestItem, reference: string): Promise<string> {
  const response = await client.request({
    method: "PUT",
    url: client.manifestUrl(reference),
    headers: { "Content-Type": item.desc.mediaType },
    body: () => item.bytes,
  });
  if (response.status !== 201 && response.status !== 200)
    throw await client.failure(response, `PUT manifest ${reference}`);
  await response.drain();
  return response.header("docker-content-digest") ?? item.desc.digest;
}

function skippedBy(results: BlobResult[], outcome: BlobResult["outcome"]): number {
  return results.filter((r) => r.outcome === outcome).reduce((sum, r) => sum + r.skipped, 0);
}

export async function pushImage(
  source: ImageSource,
  client: RegistryClient,
  tag: string | null,
  options: PushOptions,
  reporter: Reporter,
  context: Omit<UploadContext, "client" | "progress">,
): Promise<PushSummary> {
  const started = Date.now();
  const plan = await planImage(source, options.platforms);
  reporter.planned(plan.blobs);
  const ctx: UploadContext = { ...context, client, progress: reporter };
  // A Bearer token must name every repository a mount reads from.
  client.allowPullFrom(plan.blobs.flatMap((blob) => ctx.mountFrom(blob.digest)));
  const results: BlobResult[] = await runPool(plan.blobs, options.jobs, async (blob) => {
    reporter.blobStarted(blob);
    const result = await uploadBlob(ctx, source, blob);
    reporter.blobFinished(blob, result);
    return result;
  });
  for (const item of plan.manifests) {
    if (item !== plan.target) await putManifest(client, item, item.desc.digest, options.retries);
  }
  options.pushed?.(plan.blobs.map((blob) => blob.digest));
  const reference = tag ?? plan.target.desc.digest;
  const digest = await putManifest(client, plan.target, reference, options.retries);
  return {
    reference: `${client.ref.host}/${client.repo}${tag ? `:${tag}` : `@${digest}`}`,
    digest,
    mediaType: plan.target.desc.mediaType,
    manifests: plan.manifests.length,
    blobs: plan.blobs.length,
    bytesTotal: plan.blobs.reduce((sum, b) => sum + b.size, 0),
    bytesSent: results.reduce((sum, r) => sum + r.sent, 0),
    bytesSkipped: results.reduce((sum, r) => sum + r.skipped, 0),
    bytesResumed: skippedBy(results, "uploaded"),
    bytesExisted: skippedBy(results, "existed"),
    bytesMounted: skippedBy(results, "mounted"),
    resumed: results.filter((r) => r.outcome === "uploaded" && r.skipped > 0).length,
    existed: results.filter((r) => r.outcome === "existed").length,
    mounted: results.filter((r) => r.outcome === "mounted").length,
    seconds: (Date.now() - started) / 1000,
    note: plan.rewritten
      ? `--platform made a new index ${plan.target.desc.digest}; the source's index was not pushed`
      : undefined,
  };
}
