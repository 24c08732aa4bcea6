// Reads one repository's tags and manifests into the collector's working set, a page at a
// time, and re-reads them when a re-check needs to know what appeared meanwhile.
import { digestFromKeySuffix, keys } from "../storage/keys";
import type { GcContext } from "./context";
import { writtenAt } from "./context";
import { manifestNode } from "./graph";
import type { RepositoryWork, TagNode } from "./state";

const PAGE = 100;

/** Every tag of the repository as it is now. */
export async function readTags(ctx: GcContext, repo: string): Promise<TagNode[]> {
  const prefix = keys.tagPrefix(repo);
  const tags: TagNode[] = [];
  let cursor: string | undefined;
  do {
    const page = await ctx.store.bucket.list({ prefix, cursor, include: ["customMetadata"] });
    for (const o of page.objects) {
      tags.push({ tag: o.key.slice(prefix.length), digest: o.customMetadata?.digest ?? "", taggedAt: writtenAt(o, "taggedAt") });
    }
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  return tags;
}

async function readManifest(ctx: GcContext, work: RepositoryWork, key: string): Promise<void> {
  const object = await ctx.store.bucket.get(key);
  if (!object) return;
  const bytes = new Uint8Array(await object.arrayBuffer());
  work.manifests[digestFromKeySuffix(key)] = manifestNode(bytes, object.httpMetadata?.contentType, writtenAt(object));
}

/** Continues the first read of the repository. True when it is complete. */
export async function scanRepository(ctx: GcContext, work: RepositoryWork): Promise<boolean> {
  if (work.tags === null) work.tags = await readTags(ctx, work.name);
  while (ctx.budget.has(2)) {
    const limit = Math.min(PAGE, ctx.budget.has(PAGE + 1) ? PAGE : 1);
    const page = await ctx.store.bucket.list({ prefix: keys.manifestPrefix(work.name), cursor: work.cursor ?? undefined, limit });
    for (const o of page.objects) await readManifest(ctx, work, o.key);
    work.cursor = page.truncated ? page.cursor : null;
    if (!page.truncated) return true;
  }
  return false;
}

/**
 * The re-check after condemning: lists the repository's manifests again and reads any that
 * appeared since the scan (a push that raced the collector). Also returns the tags as they
 * are now when `withTags` is set.
 */
export async function rereadRepository(ctx: GcContext, work: RepositoryWork, withTags: boolean): Promise<void> {
  const prefix = keys.manifestPrefix(work.name);
  let cursor: string | undefined;
  const fresh: string[] = [];
  do {
    const page = await ctx.store.bucket.list({ prefix, cursor });
    for (const o of page.objects) if (!work.manifests[digestFromKeySuffix(o.key)]) fresh.push(o.key);
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  await Promise.all(fresh.map((key) => readManifest(ctx, work, key)));
  if (withTags) work.tags = await readTags(ctx, work.name);
}
