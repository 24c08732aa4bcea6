// Reads one repository's tags and manifests into the collector's working set, a page at a
// time, and re-reads them when a re-check needs to know what appeared meanwhile.
import { listManifestKeys, listTagObjects, readManifestAt } from "../storage/collector";
import { digestFromKeySuffix } from "../storage/keys";
import type { GcContext } from "./context";
import { writtenAt } from "./context";
import { manifestNode } from "./graph";
import type { RepositoryWork, TagNode } from "./state";

const PAGE = 100;

/** Every tag of the repository as it is now. */
export async function readTags(ctx: GcContext, repo: string): Promise<TagNode[]> {
  const tags: TagNode[] = [];
  let cursor: string | null = null;
  do {
    const page = await listTagObjects(ctx.store, repo, cursor);
    for (const o of page.objects) {
      tags.push({
        tag: o.key.slice(page.prefix.length),
        digest: o.customMetadata?.digest ?? "",
        taggedAt: writtenAt(o, "taggedAt"),
      });
    }
    cursor = page.cursor;
  } while (cursor);
  return tags;
}

async function readManifest(ctx: GcContext, work: RepositoryWork, key: string): Promise<void> {
  const read = await readManifestAt(ctx.store, key);
  if (!read) return;
  const { object, bytes } = read;
  work.manifests[digestFromKeySuffix(key)] = manifestNode(bytes, object.httpMetadata?.contentType, writtenAt(object));
}

/** Continues the first read of the repository. True when it is complete. */
export async function scanRepository(ctx: GcContext, work: RepositoryWork): Promise<boolean> {
  if (work.tags === null) work.tags = await readTags(ctx, work.name);
  while (ctx.budget.has(2)) {
    const limit = Math.min(PAGE, ctx.budget.has(PAGE + 1) ? PAGE : 1);
    const page = await listManifestKeys(ctx.store, work.name, work.cursor, limit);
    for (const o of page.objects) await readManifest(ctx, work, o.key);
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
    const page = await listManifestKeys(ctx.store, work.name, cursor);
    for (const o of page.objects) if (!work.manifests[digestFromKeySuffix(o.key)]) fresh.push(o.key);
    cursor = page.cursor;
  } while (cursor);
  await Promise.all(fresh.map((key) => readManifest(ctx, work, key)));
  if (withTags) work.tags = await readTags(ctx, work.name);
}
