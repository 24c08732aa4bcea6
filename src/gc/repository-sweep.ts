// Collects inside one repository: expires tags past their retention, frees manifests that
// nothing reaches, then frees links to blobs that no remaining manifest names. Every delete
// follows the protocol of storage/condemn.ts: condemn, re-read the repository, delete what
// is still unreferenced, pardon the rest.
import { tryParseDigest } from "../oci/digest";
import { condemn, pardon, stillMayDelete } from "../storage/condemn";
import { unlinkBlob } from "../storage/blobs";
import {
  deleteJudged,
  deleteManifestWithReferrer,
  headTagVersion,
  listLinkVersions,
  readManifestVersion,
  type LinkVersion,
  type ManifestVersion,
} from "../storage/collector";
import { noteFreed, noteHeld, type GcContext } from "./context";
import { hasOpaque, isOrphanReferrer, markedBlobs, reachableManifests } from "./graph";
import { rereadRepository, scanRepository } from "./repository-scan";
import { lockingRule } from "../config/immutable-tags";
import type { RetentionRule } from "../config/retention";
import { ruleFor, tagsToExpire } from "./retention";
import type { ManifestNode, RepositoryWork } from "./state";

/** Operations a batch's re-check may cost beyond the batch itself. */
const RECHECK_RESERVE = 20;
const BATCH = 50;

async function expireTags(ctx: GcContext, work: RepositoryWork, rule: RetentionRule | null): Promise<boolean> {
  const locked = (tag: string) => lockingRule(ctx.immutableTags, work.name, tag) !== null;
  for (const tag of tagsToExpire(rule, work.tags!, locked)) {
    if (!ctx.budget.has(3)) return false;
    work.tags = work.tags!.filter((t) => t.tag !== tag);
    const head = await headTagVersion(ctx.store, work.name, tag);
    if (!head) continue;
    if (head.writtenAt >= ctx.cutoff) {
      noteHeld(ctx, "tags", head.writtenAt);
      continue;
    }
    if (ctx.dryRun) {
      noteFreed(ctx, "tags", `${work.name}:${tag}`);
      continue;
    }
    const at = ctx.now();
    if (!(await condemn(ctx.store, head, null, at)) || !stillMayDelete(at, ctx.now())) continue;
    await deleteJudged(ctx.store, head);
    noteFreed(ctx, "tags", `${work.name}:${tag}`);
  }
  return true;
}

/** Whether the rules free an unreached manifest, the grace left aside. */
function rulesFree(
  ctx: GcContext,
  rule: RetentionRule | null,
  manifests: Record<string, ManifestNode>,
  node: ManifestNode,
): boolean {
  if (ctx.config.orphanReferrers && isOrphanReferrer(manifests, node)) return true;
  if (rule?.untaggedAfterSeconds != null) return node.at < ctx.now() - rule.untaggedAfterSeconds * 1000;
  return ctx.config.untagged;
}

/** Unreached manifests the rules free: those old enough to go now, or (`young`) those kept
 *  only because they were pushed within the grace. */
function unreachable(ctx: GcContext, work: RepositoryWork, rule: RetentionRule | null, young = false): string[] {
  const reach = reachableManifests(work.manifests, work.tags!, ctx.config.orphanReferrers);
  return Object.entries(work.manifests)
    .filter(
      ([digest, node]) =>
        !reach.has(digest) && node.at >= ctx.cutoff === young && rulesFree(ctx, rule, work.manifests, node),
    )
    .map(([digest]) => digest);
}

/** Counts the manifests the grace keeps, once, when the manifest stage ends, and remembers
 *  them for the link stage. */
function noteHeldManifests(ctx: GcContext, work: RepositoryWork, rule: RetentionRule | null): void {
  work.heldManifests = {};
  for (const digest of unreachable(ctx, work, rule, true)) {
    const node = work.manifests[digest]!;
    work.heldManifests[digest] = node.at;
    noteHeld(ctx, "manifests", node.at, node.size);
  }
}

async function deleteManifest(ctx: GcContext, work: RepositoryWork, digest: string): Promise<void> {
  const node = work.manifests[digest]!;
  const parsed = tryParseDigest(digest)!;
  const subject = node.subject ? tryParseDigest(node.subject) : null;
  await deleteManifestWithReferrer(ctx.store, work.name, parsed, subject);
  delete work.manifests[digest];
  noteFreed(ctx, "manifests", `${work.name}@${digest}`, node.size);
}

/** Condemns a batch of manifests, re-reads tags and manifests, deletes what stays unreached. */
async function freeManifestBatch(
  ctx: GcContext,
  work: RepositoryWork,
  rule: RetentionRule | null,
  batch: string[],
): Promise<void> {
  const condemned: { digest: string; manifest: ManifestVersion; at: number }[] = [];
  for (const digest of batch) {
    const read = await readManifestVersion(ctx.store, work.name, tryParseDigest(digest)!);
    if (!read) continue;
    const at = ctx.now();
    const manifest = await condemn(ctx.store, read, read.bytes, at);
    if (manifest) condemned.push({ digest, manifest, at });
  }
  await rereadRepository(ctx, work, true);
  const still = new Set(unreachable(ctx, work, rule));
  for (const c of condemned) {
    if (still.has(c.digest) && stillMayDelete(c.at, ctx.now())) await deleteManifest(ctx, work, c.digest);
    else await pardon(ctx.store, c.manifest, c.manifest.bytes);
  }
}

async function freeManifests(ctx: GcContext, work: RepositoryWork): Promise<boolean> {
  const rule = ruleFor(ctx.config.retention, work.name);
  if (!(await expireTags(ctx, work, rule))) return false;
  const tried = new Set<string>();
  for (;;) {
    const candidates = unreachable(ctx, work, rule).filter((d) => !tried.has(d));
    if (candidates.length === 0) {
      noteHeldManifests(ctx, work, rule);
      return true;
    }
    if (ctx.dryRun) {
      for (const digest of candidates)
        noteFreed(ctx, "manifests", `${work.name}@${digest}`, work.manifests[digest]!.size);
      for (const digest of candidates) delete work.manifests[digest];
      continue;
    }
    const room = Math.floor((ctx.budget.remaining() - RECHECK_RESERVE) / 3);
    if (room < 1) return false;
    const batch = candidates.slice(0, Math.min(room, BATCH));
    for (const d of batch) tried.add(d);
    await freeManifestBatch(ctx, work, rule, batch);
  }
}

/** What the links that stay weigh (a real run frees the unmarked ones; the few it pardons
 *  are left out of the figure, which errs low). */
function keptBytes(links: LinkVersion[], freed: LinkVersion[]): number {
  const gone = new Set(freed.map((l) => l.digest));
  return links.reduce((sum, l) => sum + (gone.has(l.digest) ? 0 : l.size), 0);
}

/** Condemns a page's unmarked links, re-reads the manifests, deletes what stays unmarked. */
async function freeLinkBatch(ctx: GcContext, work: RepositoryWork, links: LinkVersion[]): Promise<void> {
  const condemned: { link: LinkVersion; at: number }[] = [];
  for (const judged of links) {
    const at = ctx.now();
    const link = await condemn(ctx.store, judged, null, at);
    if (link) condemned.push({ link, at });
  }
  if (condemned.length === 0) return;
  await rereadRepository(ctx, work, false);
  const marks = markedBlobs(work.manifests);
  for (const { link, at } of condemned) {
    const { digest } = link;
    if (marks.has(digest) || !stillMayDelete(at, ctx.now())) {
      await pardon(ctx.store, link, null);
      continue;
    }
    await unlinkBlob(ctx.store, work.name, tryParseDigest(digest)!);
    noteFreed(ctx, "links", `${work.name}@${digest}`);
  }
}

/** The links of a page the grace keeps: unmarked ones written within it, and marked ones
 *  that only manifests the grace keeps mark (collectable with the newest of those). */
function noteHeldLinks(ctx: GcContext, work: RepositoryWork, links: LinkVersion[], marks: Set<string>): void {
  const held = work.heldManifests ?? {};
  const others = Object.fromEntries(Object.entries(work.manifests).filter(([digest]) => !(digest in held)));
  const markedByOthers = markedBlobs(others);
  const heldAt = new Map<string, number>();
  for (const [digest, at] of Object.entries(held))
    for (const blob of work.manifests[digest]?.blobs ?? []) heldAt.set(blob, Math.max(heldAt.get(blob) ?? 0, at));
  for (const { digest, size, writtenAt } of links) {
    if (!marks.has(digest)) {
      if (writtenAt >= ctx.cutoff) noteHeld(ctx, "links", writtenAt, size);
    } else if (!markedByOthers.has(digest) && heldAt.has(digest)) {
      noteHeld(ctx, "links", Math.max(heldAt.get(digest)!, writtenAt), size);
    }
  }
}

async function freeLinks(ctx: GcContext, work: RepositoryWork): Promise<boolean> {
  if (hasOpaque(work.manifests)) return true;
  while (ctx.budget.has(RECHECK_RESERVE + 2)) {
    const limit = Math.max(1, Math.min(BATCH, Math.floor((ctx.budget.remaining() - RECHECK_RESERVE) / 2)));
    const page = await listLinkVersions(ctx.store, work.name, work.cursor, limit);
    const marks = markedBlobs(work.manifests);
    noteHeldLinks(ctx, work, page.items, marks);
    const unmarked = page.items.filter((l) => !marks.has(l.digest) && l.writtenAt < ctx.cutoff);
    work.linkedBytes = (work.linkedBytes ?? 0) + keptBytes(page.items, ctx.dryRun ? [] : unmarked);
    if (ctx.dryRun) {
      for (const l of unmarked) {
        noteFreed(ctx, "links", `${work.name}@${l.digest}`);
        ctx.state.wouldFreeLinks?.push(`${l.digest} ${work.name}`);
      }
    } else await freeLinkBatch(ctx, work, unmarked);
    work.cursor = page.cursor;
    if (page.cursor === null) return true;
  }
  return false;
}

/** Advances the repository's collection. True when it is complete. */
export async function sweepRepository(ctx: GcContext, work: RepositoryWork): Promise<boolean> {
  if (work.stage === "scan") {
    if (!(await scanRepository(ctx, work))) return false;
    work.stage = "manifests";
  }
  if (work.stage === "manifests") {
    if (!(await freeManifests(ctx, work))) return false;
    work.stage = "links";
    work.cursor = null;
  }
  return freeLinks(ctx, work);
}
