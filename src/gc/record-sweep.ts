// Collects across the bucket, after every repository: blob records that no repository links
// any more (with their bytes), links held by repositories that never got a manifest, and
// data objects that no record points to (abandoned uploads).
import { formatDigest, tryParseDigest, type Digest } from "../oci/digest";
import { condemn, CONDEMN_LEASE_MS, pardon, stillMayDelete } from "../storage/condemn";
import { unlinkBlob } from "../storage/blobs";
import {
  blobHasLinks,
  dataHasSession,
  deleteDataObjects,
  deleteRecordWithData,
  headLinkVersion,
  listBlobRecordVersions,
  listDataObjects,
  listLinkingRepositories,
  repositoryHasManifests,
  type BlobRecordVersion,
  type DataObject,
} from "../storage/collector";
import { repositoryExists } from "../storage/repositories";
import type { DataKeyFilter } from "./bloom";
import { noteFreed, type GcContext } from "./context";

const PAGE = 50;
/** Longest a request may take between writing a blob's bytes and creating its record. Data
 *  younger than this, measured against the start of the record walk, is never judged. */
const IN_FLIGHT_MS = 15 * 60 * 1000;

/** A repository that never got a manifest is not in the catalog, so no repository walk saw
 *  its links: they are unreferenced by definition, and go once past the grace period. */
async function freeStrayLink(
  ctx: GcContext,
  repo: string,
  digest: Digest,
  catalog: Map<string, boolean>,
): Promise<boolean> {
  if (!catalog.has(repo)) {
    catalog.set(repo, await repositoryExists(ctx.store, repo));
  }
  if (catalog.get(repo)) return false;
  const link = await headLinkVersion(ctx.store, repo, digest);
  if (!link || link.writtenAt >= ctx.cutoff) return false;
  const label = `${repo}@${link.digest}`;
  if (ctx.dryRun) {
    noteFreed(ctx, "links", label);
    return true;
  }
  const at = ctx.now();
  const condemned = await condemn(ctx.store, link, null, at);
  if (!condemned) return false;
  if ((await repositoryHasManifests(ctx.store, repo)) || !stillMayDelete(at, ctx.now())) {
    await pardon(ctx.store, condemned, null);
    return false;
  }
  await unlinkBlob(ctx.store, repo, digest);
  noteFreed(ctx, "links", label);
  return true;
}

/** Whether every link of the blob is gone, or (dry run) would be gone. */
async function unlinked(ctx: GcContext, digest: Digest, catalog: Map<string, boolean>): Promise<boolean> {
  const repos = await listLinkingRepositories(ctx.store, digest, 10);
  const wouldGo = new Set(ctx.state.wouldFreeLinks ?? []);
  let remaining = 0;
  for (const repo of repos) {
    if (ctx.dryRun && wouldGo.has(`${formatDigest(digest)} ${repo}`)) continue;
    if (!(await freeStrayLink(ctx, repo, digest, catalog))) remaining++;
  }
  return remaining === 0 && repos.length < 10;
}

/** Condemns the record, re-lists its links, and deletes record and bytes if none appeared. */
async function freeRecord(ctx: GcContext, record: BlobRecordVersion, digest: Digest): Promise<void> {
  const bytes = record.size;
  const label = record.digest;
  if (ctx.dryRun) return noteFreed(ctx, "blobs", label, bytes);
  const at = ctx.now();
  const condemned = await condemn(ctx.store, record, null, at);
  if (!condemned) return;
  if ((await blobHasLinks(ctx.store, digest)) || !stillMayDelete(at, ctx.now()))
    return pardon(ctx.store, condemned, null);
  await deleteRecordWithData(ctx.store, record);
  ctx.state.storedBytes = (ctx.state.storedBytes ?? 0) - bytes;
  ctx.state.storedBlobs = (ctx.state.storedBlobs ?? 0) - 1;
  noteFreed(ctx, "blobs", label, bytes);
}

async function judgeRecord(ctx: GcContext, record: BlobRecordVersion, catalog: Map<string, boolean>): Promise<void> {
  const digest = tryParseDigest(record.digest);
  if (!digest) return;
  const stamped = record.condemnedAt;
  if (stamped !== null && ctx.now() - stamped > CONDEMN_LEASE_MS && !ctx.dryRun) {
    // A collector died between condemning and deciding: undo it, judge it next cycle.
    return pardon(ctx.store, record, null);
  }
  if (record.writtenAt >= ctx.cutoff) return;
  if (await unlinked(ctx, digest, catalog)) await freeRecord(ctx, record, digest);
}

/** Walks _blobs/, filling the data-key filter. True when the walk is complete. */
export async function sweepRecords(ctx: GcContext, filter: DataKeyFilter): Promise<boolean> {
  ctx.state.recordsScanStartedAt ??= ctx.now();
  const catalog = new Map<string, boolean>();
  while (ctx.budget.has(10)) {
    const limit = Math.max(1, Math.floor(ctx.budget.remaining() / 8));
    const page = await listBlobRecordVersions(ctx.store, ctx.state.cursor, Math.min(PAGE, limit));
    for (const record of page.items) {
      if (record.dataKey) filter.add(record.dataKey);
      ctx.state.storedBytes = (ctx.state.storedBytes ?? 0) + record.size;
      ctx.state.storedBlobs = (ctx.state.storedBlobs ?? 0) + 1;
      await judgeRecord(ctx, record, catalog);
    }
    ctx.state.cursor = page.cursor;
    if (page.cursor === null) return true;
  }
  return false;
}

/** Walks _data/, deleting bytes no record points to and no upload session owns. */
export async function sweepData(ctx: GcContext, filter: DataKeyFilter): Promise<boolean> {
  const horizon = Math.min(ctx.cutoff, (ctx.state.recordsScanStartedAt ?? 0) - IN_FLIGHT_MS);
  while (ctx.budget.has(3)) {
    const limit = Math.max(1, Math.min(PAGE, ctx.budget.remaining() - 2));
    const page = await listDataObjects(ctx.store, ctx.state.cursor, limit);
    const orphans: DataObject[] = [];
    for (const o of page.items) {
      if (o.writtenAt >= horizon || filter.mayContain(o.dataKey)) continue;
      if (!(await dataHasSession(ctx.store, o.dataKey))) orphans.push(o);
    }
    if (orphans.length > 0 && !ctx.dryRun) {
      await deleteDataObjects(ctx.store, orphans);
    }
    for (const o of orphans) noteFreed(ctx, "data", o.dataKey, o.size);
    ctx.state.cursor = page.cursor;
    if (page.cursor === null) return true;
  }
  return false;
}
