// The registry's manifest rules: validation against the repository's content, tags,
// referrers, and deletes. Routes call these; storage/manifests.ts does the R2 work.
import { RegistryError } from "../errors";
import { digestBytes, formatDigest, parseDigest, type Digest } from "../oci/digest";
import { parseManifest, type Descriptor, type ParsedManifest } from "../oci/manifest";
import type { Reference } from "../oci/reference";
import { pullThroughManifest } from "../proxy/manifests";
import { emitChange } from "./events";
import type { Identity } from "./identity";
import { refuseDelete, refuseMirrorWrite, refuseTagMove, refuseTagRemoval, tagLockReason } from "./write-policy";
import type { Deps } from "../storage/deps";
import { keepManifest, missingAfterWrite } from "../storage/manifest-guard";
import { getBlobLink } from "../storage/blobs";
import {
  addToCatalog,
  deleteManifestObject,
  deleteReferrer,
  deleteTag,
  deleteTags,
  getManifest,
  getServedManifest,
  getTag,
  listTagTargets,
  putManifest,
  putReferrer,
  getTagTarget,
  putTag,
  type StoredManifest,
} from "../storage/manifests";
import { cachedManifest, ENTRY_BYTES, rememberManifest } from "./manifest-cache";
import type { Storage } from "../storage/storage";
import { mapBounded } from "../util/map-bounded";
import { readBounded } from "../util/read-bounded";

/**
 * A manifest by tag or digest. By tag, the tag is read every time; its bytes may then come
 * from the isolate's cache (registry/manifest-cache.ts): one storage call when warm.
 */
export async function fetchManifest(
  deps: Pick<Deps, "store">,
  repo: string,
  reference: Reference,
  withBody: boolean,
): Promise<StoredManifest> {
  const { store } = deps;
  let digest: Digest;
  if (reference.kind === "tag") {
    const target = await getTagTarget(store, repo, reference.tag);
    if (!target) throw new RegistryError("MANIFEST_UNKNOWN", `manifest unknown: ${repo}:${reference.tag}`);
    digest = target.digest;
    const cached = target.manifest ? cachedManifest(repo, formatDigest(digest), target.manifest.mediaType) : null;
    if (cached)
      return {
        digest,
        contentType: target.manifest!.mediaType,
        size: cached.length,
        body: withBody ? new Response(cached).body : null,
        uploadedAt: 0,
      };
  } else {
    digest = reference.digest;
  }
  // By digest, a manifest this isolate served lately is answered from memory (storage's
  // remembered head, the bytes from manifest-cache.ts): a warm pull by digest reads nothing.
  const manifest = await getServedManifest(store, repo, digest, withBody, (head) =>
    cachedManifest(repo, formatDigest(digest), head.contentType),
  );
  if (!manifest) throw new RegistryError("MANIFEST_UNKNOWN", `manifest unknown: ${repo}@${formatDigest(digest)}`);
  if (!manifest.body || manifest.size > ENTRY_BYTES) return manifest;
  const bytes = new Uint8Array(await new Response(manifest.body).arrayBuffer());
  rememberManifest(repo, formatDigest(digest), manifest.contentType, bytes);
  return { ...manifest, body: new Response(bytes).body };
}

/** Every blob and child manifest the manifest names must already be in the repository. */
async function checkReferences(store: Storage, repo: string, parsed: ParsedManifest): Promise<void> {
  const missing: string[] = [];
  await Promise.all([
    ...parsed.blobs.map(async (d) => {
      if (!(await getBlobLink(store, repo, d))) missing.push(formatDigest(d));
    }),
    ...parsed.manifests.map(async (d) => {
      if (!(await getManifest(store, repo, d, false))) missing.push(formatDigest(d));
    }),
  ]);
  if (missing.length > 0) {
    throw new RegistryError("MANIFEST_BLOB_UNKNOWN", { missing: missing.slice(0, 20) });
  }
}

/**
 * A manifest PUT's storage work grows with what it names and how it is tagged, and Workers
 * allow 1,000 subrequests per request on the Free plan. Each distinct digest costs up to 3
 * operations (the check before the write, then the link and the record re-read after it:
 * manifest-guard.ts), each tag up to 4 (its old target, the conditional put's head and put,
 * and the put back if the push fails), and the rest about a dozen:
 * 256 × 3 + 20 × 4 + 12 = 860. docker builds stop at 127 layers; 256 leaves room for a
 * config, an index of many platforms, and retries against the collector.
 */
export const MAX_MANIFEST_REFERENCES = 256;
export const MAX_TAGS_PER_PUT = 20;

/** A manifest with a subject has its annotations copied into every referrers response that
 *  lists it; this caps them (as JSON, in bytes), so one page stays small (routes/referrers.ts). */
export const MAX_REFERRER_ANNOTATION_BYTES = 16 * 1024;

/** Refuses, before any storage work, a manifest or tag set whose checks could not fit. */
function checkPutBounds(parsed: ParsedManifest, tags: string[]): void {
  if (parsed.subject && parsed.annotations) {
    const size = new TextEncoder().encode(JSON.stringify(parsed.annotations)).length;
    if (size > MAX_REFERRER_ANNOTATION_BYTES) {
      throw new RegistryError(
        "MANIFEST_INVALID",
        `the annotations of a manifest with a subject take ${size} bytes; this registry keeps at most ${MAX_REFERRER_ANNOTATION_BYTES} for the referrers list`,
      );
    }
  }
  const references = parsed.blobs.length + parsed.manifests.length;
  if (references > MAX_MANIFEST_REFERENCES) {
    throw new RegistryError(
      "MANIFEST_INVALID",
      `the manifest names ${references} distinct blobs and manifests; this registry accepts at most ${MAX_MANIFEST_REFERENCES}`,
    );
  }
  if (tags.length > MAX_TAGS_PER_PUT) {
    throw new RegistryError(
      "TAG_INVALID",
      `${tags.length} tags in one PUT; this registry accepts at most ${MAX_TAGS_PER_PUT} (push again for more)`,
    );
  }
}

export interface PutManifestInput {
  repo: string;
  reference: Reference;
  extraTags: string[];
  bytes: Uint8Array;
  contentType: string | null;
}

export interface PutManifestResult {
  digest: Digest;
  tags: string[];
  subject: Digest | null;
}

/** PUT of a manifest (end-7): refused for a read-only mirror, then validated, stored, tagged. */
export async function storeManifest(deps: Deps, input: PutManifestInput): Promise<PutManifestResult> {
  refuseMirrorWrite(deps.config, input.repo);
  const { store } = deps;
  const parsed = parseManifest(input.bytes, input.contentType);
  const algorithm = input.reference.kind === "digest" ? input.reference.digest.algorithm : "sha256";
  const digest = await digestBytes(algorithm, input.bytes);
  if (input.reference.kind === "digest" && input.reference.digest.hex !== digest.hex) {
    throw new RegistryError(
      "DIGEST_INVALID",
      `manifest digest is ${formatDigest(digest)}, not ${formatDigest(input.reference.digest)}`,
    );
  }
  const tags = [...new Set([...(input.reference.kind === "tag" ? [input.reference.tag] : []), ...input.extraTags])];
  checkPutBounds(parsed, tags);
  await checkReferences(store, input.repo, parsed);
  // What this push may overwrite, so a failure can put it back (see undoManifestPut).
  const before: PriorState = {
    manifestExisted: (await getManifest(store, input.repo, digest, false)) !== null,
    tags: await Promise.all(tags.map(async (tag) => ({ tag, digest: await getTag(store, input.repo, tag) }))),
    written: new Set(),
  };
  for (const prior of before.tags) refuseTagMove(deps.config, input.repo, prior.tag, prior.digest, digest);
  // Write, then re-read what it names: the garbage collector may be deleting it right now.
  const write = async () => {
    await putManifest(store, input.repo, digest, input.bytes, parsed.mediaType);
    return missingAfterWrite(store, input.repo, parsed);
  };
  let missing = await write();
  try {
    if (missing.length === 0) {
      if (parsed.subject)
        await putReferrer(store, input.repo, parsed.subject, referrerDescriptor(parsed, digest, input.bytes.length));
      await putTags(deps, input.repo, before, digest, { mediaType: parsed.mediaType, size: input.bytes.length });
      await addToCatalog(store, input.repo);
      missing = await keepManifest(store, input.repo, digest, write);
    }
  } catch (error) {
    await undoManifestPut(store, input.repo, digest, parsed.subject, before).catch(() => {});
    throw error;
  }
  if (missing.length > 0) {
    await undoManifestPut(store, input.repo, digest, parsed.subject, before).catch(() => {});
    throw new RegistryError("MANIFEST_BLOB_UNKNOWN", {
      missing: missing.slice(0, 20),
      reason: "garbage-collected during the push",
    });
  }
  emitPut(deps, input.repo, digest, parsed, input.bytes.length, before);
  return { digest, tags, subject: parsed.subject };
}

/** The events of a PUT that stored everything: a new manifest is one push (with its tags);
 *  a manifest already stored here is a tag move for each tag it did not name yet, and no
 *  event at all when every tag already named it (a re-push changes nothing). */
function emitPut(
  deps: Deps,
  repo: string,
  digest: Digest,
  parsed: ParsedManifest,
  size: number,
  before: PriorState,
): void {
  const target = formatDigest(digest);
  const previous = (d: Digest | null) => (d === null ? null : formatDigest(d));
  const moved = before.tags.filter((t) => previous(t.digest) !== target);
  if (!before.manifestExisted) {
    emitChange(deps, {
      kind: "push",
      action: "pushed",
      repository: repo,
      digest: target,
      mediaType: parsed.mediaType,
      size,
      tags: before.tags.map((t) => t.tag),
      // The first tag this push took from another manifest (a new tag took it from none).
      previousDigest: previous(moved.find((t) => t.digest !== null)?.digest ?? null),
      platforms: parsed.platforms,
      platformsTruncated: false,
      subject: previous(parsed.subject),
    });
    return;
  }
  for (const t of moved)
    emitChange(deps, {
      kind: "tag",
      action: "moved",
      repository: repo,
      tag: t.tag,
      digest: target,
      previousDigest: previous(t.digest),
    });
}

/** Writes every tag and lets every write settle before reporting a failure, so the undo
 *  never races a write still in flight. A locked tag is written only over what the policy
 *  check saw: a racing push that created or moved it first wins, and this one is DENIED. */
async function putTags(
  deps: Deps,
  repo: string,
  before: PriorState,
  digest: Digest,
  manifest: { mediaType: string; size: number },
): Promise<void> {
  const results = await Promise.allSettled(
    before.tags.map(async (prior) => {
      const locked = tagLockReason(deps.config, repo, prior.tag);
      const onlyOver = locked === null ? undefined : prior.digest;
      if (!(await putTag(deps.store, repo, prior.tag, digest, null, manifest, onlyOver)))
        throw new RegistryError("DENIED", `${locked}: another push set it meanwhile`);
      before.written.add(prior.tag);
    }),
  );
  const failure = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failure) throw failure.reason;
}

interface PriorState {
  manifestExisted: boolean;
  tags: { tag: string; digest: Digest | null }[];
  /** The tags this push wrote: only those are put back. */
  written: Set<string>;
}

/** Leaves nothing half-written that a later read could see, and takes nothing away that was
 *  there before: tags go back to their old targets, and a manifest (with its referrer entry)
 *  that already existed stays, because other tags and indexes may point to it. */
async function undoManifestPut(
  store: Storage,
  repo: string,
  digest: Digest,
  subject: Digest | null,
  before: PriorState,
): Promise<void> {
  await Promise.all(
    before.tags
      .filter((t) => before.written.has(t.tag))
      .map((t) => (t.digest ? putTag(store, repo, t.tag, t.digest) : deleteTag(store, repo, t.tag))),
  );
  if (before.manifestExisted) return;
  if (subject) await deleteReferrer(store, repo, subject, digest);
  await deleteManifestObject(store, repo, digest);
}

function referrerDescriptor(parsed: ParsedManifest, digest: Digest, size: number): Descriptor {
  const descriptor: Descriptor = { mediaType: parsed.mediaType, digest: formatDigest(digest), size };
  if (parsed.artifactType !== undefined) descriptor.artifactType = parsed.artifactType;
  if (parsed.annotations !== undefined) descriptor.annotations = parsed.annotations;
  return descriptor;
}

/** DELETE of /v2/<name>/manifests/<reference> (end-9), for the API and the web UI: the delete
 *  policy first (registry/write-policy.ts), then by digest or by tag. */
export async function deleteManifest(
  deps: Deps,
  identity: Pick<Identity, "allows">,
  repo: string,
  reference: Reference,
): Promise<void> {
  refuseDelete(deps.config, identity, repo);
  if (reference.kind === "digest") await deleteManifestByDigest(deps, repo, reference.digest);
  else {
    refuseTagRemoval(deps.config, repo, [reference.tag]);
    await deleteTagOnly(deps, repo, reference.tag);
  }
}

/** By digest: the manifest, every tag pointing at it, and its referrer entry; refused while
 *  a locked tag points at it. */
async function deleteManifestByDigest(deps: Deps, repo: string, digest: Digest): Promise<void> {
  const { store } = deps;
  const stored = await getManifest(store, repo, digest, true);
  if (!stored) throw new RegistryError("MANIFEST_UNKNOWN", `manifest unknown: ${repo}@${formatDigest(digest)}`);
  const bytes = new Uint8Array(await new Response(stored.body).arrayBuffer());
  const target = formatDigest(digest);
  const tags = (await listTagTargets(store, repo)).filter((t) => t.digest === target);
  refuseTagRemoval(
    deps.config,
    repo,
    tags.map((t) => t.tag),
  );
  // One call per 1,000 tags, not two per tag: a manifest may carry thousands.
  await deleteTags(
    store,
    repo,
    tags.map((t) => t.tag),
  );
  let subject: Digest | null = null;
  try {
    subject = parseManifest(bytes, stored.contentType).subject;
  } catch {
    subject = null;
  }
  if (subject) await deleteReferrer(store, repo, subject, digest);
  await deleteManifestObject(store, repo, digest);
  // One event for the manifest: its tags went with it, as distribution reports a delete.
  emitChange(deps, {
    kind: "delete",
    action: "deleted",
    repository: repo,
    digest: target,
    mediaType: stored.contentType,
  });
}

/** By tag: the tag only; the manifest stays, reachable by digest. */
async function deleteTagOnly(deps: Deps, repo: string, tag: string): Promise<void> {
  const deleted = await deleteTag(deps.store, repo, tag);
  if (!deleted) throw new RegistryError("MANIFEST_UNKNOWN", `tag unknown: ${repo}:${tag}`);
  // Every tag a push writes names its digest; one that names none has no event to give.
  if (deleted.digest !== null)
    emitChange(deps, {
      kind: "tag",
      action: "deleted",
      repository: repo,
      tag,
      digest: deleted.digest,
      previousDigest: null,
    });
}

/** A manifest as served: stored here, or from an upstream (then perhaps with a Warning). */
export interface ServedManifest extends StoredManifest {
  /** Set when a mirror serves a stale copy because its upstream could not revalidate it. */
  warning?: string;
}

/** A manifest GET or HEAD. A mirror that fetched it from its upstream just now emits the
 *  fill; a GET (not a HEAD, which pulls nothing) emits a pull, sampled (emitEvent). */
export async function findManifest(
  deps: Deps,
  repo: string,
  reference: Reference,
  withBody: boolean,
): Promise<ServedManifest> {
  const proxied = await pullThroughManifest(deps, repo, reference, withBody);
  const manifest = proxied ?? (await fetchManifest(deps, repo, reference, withBody));
  const tag = reference.kind === "tag" ? reference.tag : null;
  const facts = { repository: repo, digest: formatDigest(manifest.digest), mediaType: manifest.contentType };
  if (proxied?.filledFrom !== undefined)
    emitChange(deps, {
      kind: "mirror",
      action: "filled",
      ...facts,
      size: manifest.size,
      tag,
      upstream: proxied.filledFrom,
    });
  if (withBody) emitChange(deps, { kind: "pull", action: "pulled", ...facts, size: manifest.size, tag });
  return manifest;
}

// Reading stored documents for a view (the web UI's pages): a pusher controls what they
// hold and any anonymous GET repeats a view, so each view has a fixed ceiling of document
// bytes and of reads in flight whatever the bucket holds. The largest document a view reads
// is the registry's own manifest limit (MAX_MANIFEST_BYTES, for configs too); the isolate's
// peak for the worst legal content is read in test/e2e/ui-memory.test.ts.
const MiB = 1024 * 1024;

/** Manifest and config bytes one view reads in all: six documents of the largest size.
 *  Ordinary manifests are a few KiB, so only hostile content meets it; what is past it is
 *  shown as not read. It bounds the CPU a view spends parsing (about 10 ms a MiB). */
export const VIEW_READ_BYTES = 24 * MiB;
/** Documents a view reads and reduces at once. Parsing a 4 MiB manifest of 26,000 layers
 *  holds its bytes, its text and its objects, about 20 MiB, until the view keeps only the
 *  few fields it shows; two at a time leave the rest of the isolate's 128 MB to others. */
export const VIEW_READS_IN_FLIGHT = 2;
/** Index entries whose manifests a view of an index reads (to show their layers). */
export const VIEW_INDEX_ENTRIES = 16;

/** One view's allowance of document bytes (VIEW_READ_BYTES), spent before each read, and
 *  the largest document it reads at all (MAX_MANIFEST_BYTES). */
export class ViewReadBudget {
  private left = VIEW_READ_BYTES;
  readonly maxDocumentBytes: number;

  constructor(deps: Deps) {
    this.maxDocumentBytes = deps.config.maxManifestBytes;
  }

  /** Whether `size` more bytes fit; if they do, they are spent. */
  spend(size: number): boolean {
    if (size > this.left) return false;
    this.left -= size;
    return true;
  }
}

/** A document read for a view: its bytes; "unread" when the view's budget is spent; null
 *  when it is larger than any manifest may be. */
export type ViewRead<T> = T | "unread" | null;

/** A document's bytes within the budget. The body is cancelled when not read. */
export async function readForView(
  size: number,
  body: ReadableStream | null,
  budget: ViewReadBudget,
): Promise<ViewRead<Uint8Array>> {
  const verdict = size > budget.maxDocumentBytes ? null : budget.spend(size) ? "read" : "unread";
  if (verdict !== "read") {
    await body?.cancel().catch(() => {});
    return verdict;
  }
  return readBounded(body, budget.maxDocumentBytes);
}

/** The manifest a view is about: MANIFEST_UNKNOWN when it is not stored here, MANIFEST_INVALID
 *  when it is past the budget (which only a smaller MAX_MANIFEST_BYTES than it was pushed
 *  under makes possible). */
export async function readManifestForView(
  deps: Deps,
  repo: string,
  digest: Digest,
  budget: ViewReadBudget,
): Promise<{ bytes: Uint8Array; contentType: string; uploadedAt: number }> {
  const stored = await getManifest(deps.store, repo, digest, true);
  if (!stored) throw new RegistryError("MANIFEST_UNKNOWN", `manifest unknown: ${repo}@${formatDigest(digest)}`);
  const bytes = await readForView(stored.size, stored.body, budget);
  if (!bytes || bytes === "unread") throw new RegistryError("MANIFEST_INVALID", "manifest too large to show");
  return { bytes, contentType: stored.contentType, uploadedAt: stored.uploadedAt };
}

/** Stored manifests for a view, each read once however often `digests` names it, at most
 *  VIEW_READS_IN_FLIGHT at a time, and reduced at once to what the view keeps (so no more
 *  than that many documents are held). A digest not stored here reads as null. Callers pass
 *  bounded lists: a browse page of tags (BROWSE_PAGE_TAGS), an index's entries (cut to
 *  VIEW_INDEX_ENTRIES by readIndexEntriesForView). */
export async function readManifestsForView<T>(
  deps: Deps,
  repo: string,
  digests: readonly string[],
  budget: ViewReadBudget,
  reduce: (bytes: Uint8Array, contentType: string) => T,
): Promise<Map<string, ViewRead<T>>> {
  const views = new Map<string, ViewRead<T>>();
  await mapBounded([...new Set(digests)], VIEW_READS_IN_FLIGHT, async (d) => {
    const stored = await getManifest(deps.store, repo, parseDigest(d), true);
    const bytes = stored ? await readForView(stored.size, stored.body, budget) : null;
    views.set(d, bytes === null || bytes === "unread" ? bytes : reduce(bytes, stored!.contentType));
  });
  return views;
}

/** The manifests of an index's first VIEW_INDEX_ENTRIES entries, as readManifestsForView. */
export function readIndexEntriesForView<T>(
  deps: Deps,
  repo: string,
  entries: readonly string[],
  budget: ViewReadBudget,
  reduce: (bytes: Uint8Array, contentType: string) => T,
): Promise<Map<string, ViewRead<T>>> {
  return readManifestsForView(deps, repo, entries.slice(0, VIEW_INDEX_ENTRIES), budget, reduce);
}
