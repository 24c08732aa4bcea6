// A manifest PUT's half of the collection protocol (docs/gc.md, "Protocol"). The collector
// condemns a link or manifest, re-reads what could refer to it, then deletes it. A PUT writes
// first and re-reads after: the manifest, then its blobs and children; the tags, then the
// manifest. Whichever side reads second sees the other's write, so a PUT that succeeds never
// names something the collector deleted.
import { formatDigest, type Digest } from "../oci/digest";
import type { ParsedManifest } from "../oci/manifest";
import { getSettledBlobLink, getSettledBlobRecord } from "./blobs";
import { manifestSettled } from "./manifests";
import type { Storage } from "./storage";

/** Blobs and child manifests that are gone now that the manifest is written. */
export async function missingAfterWrite(store: Storage, repo: string, parsed: ParsedManifest): Promise<string[]> {
  const missing: string[] = [];
  await Promise.all([
    ...parsed.blobs.map(async (d) => {
      const [link, record] = await Promise.all([getSettledBlobLink(store, repo, d), getSettledBlobRecord(store, d)]);
      if (!link || !record || record.dataKey !== link.dataKey) missing.push(formatDigest(d));
    }),
    ...parsed.manifests.map(async (d) => {
      if (!(await manifestSettled(store, repo, d))) missing.push(formatDigest(d));
    }),
  ]);
  return missing;
}

/**
 * After the tags are written: the manifest must still be there. The collector may have
 * judged it untagged before the tags landed; then it is written again (`rewrite`), and its
 * references checked again, a bounded number of times.
 */
export async function keepManifest(
  store: Storage,
  repo: string,
  digest: Digest,
  rewrite: () => Promise<string[]>,
): Promise<string[]> {
  for (let attempt = 0; attempt < 3; attempt++) {
    if (await manifestSettled(store, repo, digest)) return [];
    const missing = await rewrite();
    if (missing.length > 0) return missing;
  }
  return [formatDigest(digest)];
}
