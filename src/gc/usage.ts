// The usage figures the collector leaves behind as it walks (storage/usage.ts): a
// repository's at the end of its pass, the bucket's at the end of the record walk. The web
// UI shows them with their time instead of walking the bucket itself.
import { saveBucketUsage, saveRepositoryUsage } from "../storage/usage";
import type { GcContext } from "./context";
import type { RepositoryWork } from "./state";

export async function recordRepositoryUsage(ctx: GcContext, work: RepositoryWork): Promise<void> {
  const manifests = Object.values(work.manifests);
  const tags = work.tags ?? [];
  const lastPushAt = Math.max(
    manifests.reduce((max, m) => Math.max(max, m.at), 0),
    tags.reduce((max, t) => Math.max(max, t.taggedAt), 0),
  );
  const manifestBytes = manifests.reduce((sum, m) => sum + m.size, 0);
  await saveRepositoryUsage(ctx.store, work.name, {
    tags: tags.length,
    manifests: manifests.length,
    bytes: work.linkedBytes === undefined ? null : work.linkedBytes + manifestBytes,
    lastPushAt,
    measuredAt: ctx.now(),
  });
}

export async function recordBucketUsage(ctx: GcContext): Promise<void> {
  const { state } = ctx;
  await saveBucketUsage(ctx.store, {
    bytes: state.storedBytes ?? 0,
    blobs: state.storedBlobs ?? 0,
    startedAt: state.recordsScanStartedAt ?? ctx.now(),
    measuredAt: ctx.now(),
  });
}
