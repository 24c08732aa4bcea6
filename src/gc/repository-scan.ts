// Reads one repository's tags and manifests into the collector's working set, a page at a
// time, and re-reads them when a re-check needs to know what appeared meanwhile.
import { tryParseDigest } from "../oci/digest";
import { listManifestDigests, listTagVersions, readManifestVersion } from "../storage/collector";
import type { GcContext } from "./context";
import { manifestNode } from "./graph";
import type { RepositoryWork, TagNode } from "./state";

const PAGE = 100;

/** Every tag of the repository as it is now. */
async function readTags(ctx: GcContext, repo: string): Promise<TagNode[]> {
  const tags: TagNode[] = [];
  let cursor: string | null = null;
  do {
    const page = await listTagVersions(ctx.store, repo, cursor);
    for (const t of page.items) tags.push({ tag: t.tag, digest: t.digest, taggedAt: t.writtenAt });
    cursor = page.cursor;
  } while (cursor);
  return tags;
}

async function readManifest(ctx: GcContext, work: RepositoryWork, digest: string): Promise<void> {
  const parsed = tryParseDigest(digest);
  const read = parsed && (await readManifestVersion(ctx.store, work.name, parsed));
  if (!read) return;
  work.manifests[digest] = manifestNode(read.bytes, read.contentType, read.writtenAt);
}

/** Continues the first read of the repository. True when it is complete. */
export async function scanRepository(ctx: GcContext, work: RepositoryWork): Promise<boolean> {
  if (work.tags === null) work.tags = await readTags(ctx, work.name);
  while (ctx.budget.has(2)) {
    const limit = Math.min(PAGE, ctx.budget.has(PAGE + 1) ? PAGE : 1);
    const page = await listManifestDigests(ctx.store, work.name, work.cursor, limit);
    for (const digest of page.items) await readManifest(ctx, work, digest);
    work.cursor = page.cursor;
    if (page.cursor === null) return true;
  }
  return false;
}

/**
 * The re-check after condemning: lists the repository's manifests again and reads any that
 * appeared since the scan (a push that raced the collector). Also returns the tags as they
 * are now when `withTags` is set.
 */
export async function rereadRepository(ctx: GcContext, work: RepositoryWork, withTags: boolean): Promise<void> {
  let cursor: string | null = null;
  const fresh: string[] = [];
  do {
    const page = await listManifestDigests(ctx.store, work.name, cursor);
    for (const digest of page.items) if (!work.manifests[digest]) fresh.push(digest);
    cursor = page.cursor;
  } while (cursor);
  await Promise.all(fresh.map((digest) => readManifest(ctx, work, digest)));
  if (withTags) work.tags = await readTags(ctx, work.name);
}
