// Collects across the bucket, after every repository: blob records that no repository links
// any more (with their bytes), links held by repositories that never got a manifest, and
// data objects that no record points to (abandoned uploads).
import { tryParseDigest, type Digest } from "../oci/digest";
import { condemn, CONDEMN_LEASE_MS, condemnedAt, pardon, stillMayDelete } from "../storage/condemn";
import { digestFromKeySuffix, keys } from "../storage/keys";
import type { DataKeyFilter } from "./bloom";
import { noteFreed, writtenAt, type GcContext } from "./context";

const PAGE = 50;
/** Longest a request may take between writing a blob's bytes and creating its record. Data
 *  younger than this, measured against the start of the record walk, is never judged. */
export const IN_FLIGHT_MS = 15 * 60 * 1000;

async function listLinkingRepositories(ctx: GcContext, digest: Digest, limit: number): Promise<string[]> {
  const prefix = keys.blobRepos(digest);
  const page = await ctx.store.bucket.list({ prefix, limit });
  return page.objects.map((o) => o.key.slice(prefix.length));
}

/** A repository that never got a manifest is not in the catalog, so no repository walk saw
 *  its links: they are unreferenced by definition, and go once past the grace period. */
async function freeStrayLink(ctx: GcContext, repo: string, digest: Digest, catalog: Map<string, boolean>): Promise<boolean> {
  if (!catalog.has(repo)) {
    catalog.set(repo, (await ctx.store.bucket.head(keys.catalogEntry(repo))) !== null);
  }
  if (catalog.get(repo)) return false;
  const link = await ctx.store.bucket.head(keys.blobLink(repo, digest));
  if (!link || writtenAt(link) >= ctx.cutoff) return false;
  const label = `${repo}@${digestFromKeySuffix(link.key)}`;
  if (ctx.dryRun) {
    noteFreed(ctx, "links", label);
    return true;
  }
  const at = ctx.now();
  const condemned = await condemn(ctx.store, link, null, at);
  if (!condemned) return false;
  const manifests = await ctx.store.bucket.list({ prefix: keys.manifestPrefix(repo), limit: 1 });
  if (manifests.objects.length > 0 || !stillMayDelete(at, ctx.now())) {
    await pardon(ctx.store, condemned, null);
    return false;
  }
  await ctx.store.bucket.delete([link.key, keys.blobRepo(digest, repo)]);
  noteFreed(ctx, "links", label);
  return true;
}

/** Whether every link of the blob is gone, or (dry run) would be gone. */
async function unlinked(ctx: GcContext, digest: Digest, catalog: Map<string, boolean>): Promise<boolean> {
  const repos = await listLinkingRepositories(ctx, digest, 10);
  const wouldGo = new Set(ctx.state.wouldFreeLinks ?? []);
  let remaining = 0;
  for (const repo of repos) {
    if (ctx.dryRun && wouldGo.has(`${digestFromKeySuffix(keys.blobRecord(digest))} ${repo}`)) continue;
    if (!(await freeStrayLink(ctx, repo, digest, catalog))) remaining++;
  }
  return remaining === 0 && repos.length < 10;
}

/** Condemns the record, re-lists its links, and deletes record and bytes if none appeared. */
async function freeRecord(ctx: GcContext, record: R2Object, digest: Digest): Promise<void> {
  const bytes = Number(record.customMetadata?.size ?? 0);
  const label = digestFromKeySuffix(record.key);
  if (ctx.dryRun) return noteFreed(ctx, "blobs", label, bytes);
  const at = ctx.now();
  const condemned = await condemn(ctx.store, record, null, at);
  if (!condemned) return;
  const links = await ctx.store.bucket.list({ prefix: keys.blobRepos(digest), limit: 1 });
  if (links.objects.length > 0 || !stillMayDelete(at, ctx.now())) return pardon(ctx.store, condemned, null);
  const data = record.customMetadata?.data;
  await ctx.store.bucket.delete([record.key, ...(data ? [data] : [])]);
  noteFreed(ctx, "blobs", label, bytes);
}

async function judgeRecord(ctx: GcContext, record: R2Object, catalog: Map<string, boolean>): Promise<void> {
  const digest = tryParseDigest(digestFromKeySuffix(record.key));
  if (!digest) return;
  const stamped = condemnedAt(record);
  if (stamped !== null && ctx.now() - stamped > CONDEMN_LEASE_MS && !ctx.dryRun) {
    // A collector died between condemning and deciding: undo it, judge it next cycle.
    return pardon(ctx.store, record, null);
  }
  if (record.uploaded.getTime() >= ctx.cutoff) return;
  if (await unlinked(ctx, digest, catalog)) await freeRecord(ctx, record, digest);
}

/** Walks _blobs/, filling the data-key filter. True when the walk is complete. */
export async function sweepRecords(ctx: GcContext, filter: DataKeyFilter): Promise<boolean> {
  ctx.state.recordsScanStartedAt ??= ctx.now();
  const catalog = new Map<string, boolean>();
  while (ctx.budget.has(10)) {
    const limit = Math.max(1, Math.floor(ctx.budget.remaining() / 8));
    const page = await ctx.store.bucket.list({ prefix: keys.blobRecordPrefix(), cursor: ctx.state.cursor ?? undefined, limit: Math.min(PAGE, limit), include: ["customMetadata"] });
    for (const record of page.objects) {
      if (record.customMetadata?.data) filter.add(record.customMetadata.data);
      await judgeRecord(ctx, record, catalog);
    }
    ctx.state.cursor = page.truncated ? page.cursor : null;
    if (!page.truncated) return true;
  }
  return false;
}

/** Walks _data/, deleting bytes no record points to and no upload session owns. */
export async function sweepData(ctx: GcContext, filter: DataKeyFilter): Promise<boolean> {
  const horizon = Math.min(ctx.cutoff, (ctx.state.recordsScanStartedAt ?? 0) - IN_FLIGHT_MS);
  while (ctx.budget.has(3)) {
    const limit = Math.max(1, Math.min(PAGE, ctx.budget.remaining() - 2));
    const page = await ctx.store.bucket.list({ prefix: keys.dataPrefix(), cursor: ctx.state.cursor ?? undefined, limit });
    const orphans: R2Object[] = [];
    for (const o of page.objects) {
      if (o.uploaded.getTime() >= horizon || filter.mayContain(o.key)) continue;
      const session = await ctx.store.bucket.head(keys.uploadState(o.key.slice(keys.dataPrefix().length)));
      if (!session) orphans.push(o);
    }
    if (orphans.length > 0 && !ctx.dryRun) {
      await ctx.store.bucket.delete(orphans.map((o) => o.key));
    }
    for (const o of orphans) noteFreed(ctx, "data", o.key, o.size);
    ctx.state.cursor = page.truncated ? page.cursor : null;
    if (!page.truncated) return true;
  }
  return false;
}
