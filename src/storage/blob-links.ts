// Linking a blob into a repository while the collector may be deleting its bucket record.
// The collector condemns a record, lists the record's reverse links, and deletes it only if
// there are none. A linker writes its reverse link and link, then re-reads the record. One of
// the two sees the other, so a link never outlives its record (docs/gc.md, "Protocol").
import { RegistryError } from "../errors";
import type { Digest } from "../oci/digest";
import { deleteBlobData } from "./blob-data";
import { createBlobRecord, getSettledBlobRecord, linkBlob, unlinkBlob, type BlobRecord } from "./blobs";
import type { Storage } from "./storage";

/**
 * Links the blob and checks that its record still holds the same bytes. Returns the record
 * linked, or null (with the link removed again) when the collector deleted the record.
 */
export async function linkBlobVerified(
  store: Storage,
  repo: string,
  digest: Digest,
  record: BlobRecord,
): Promise<BlobRecord | null> {
  let linking = record;
  for (let attempt = 0; attempt < 3; attempt++) {
    await linkBlob(store, repo, digest, linking);
    const current = await getSettledBlobRecord(store, digest);
    if (current?.dataKey === linking.dataKey) return linking;
    if (!current) break;
    // Deleted and pushed again with other bytes meanwhile: link those instead.
    linking = current;
  }
  await unlinkBlob(store, repo, digest);
  return null;
}

/** linkBlobVerified, or 503 when the collector deleted the record meanwhile (the client
 *  pushes again). */
export async function linkOrFail(
  store: Storage,
  repo: string,
  digest: Digest,
  record: BlobRecord,
): Promise<BlobRecord> {
  const linked = await linkBlobVerified(store, repo, digest, record);
  if (!linked)
    throw new RegistryError("UNAVAILABLE", "the blob was garbage-collected while it was linked; push it again");
  return linked;
}

/** Another record can win and then be collected before it is linked; past this many rounds
 *  the client is told to try again rather than looping on a collector that keeps winning. */
const PUBLISH_ROUNDS = 2;

/**
 * Makes freshly stored, verified bytes the blob `digest` and links it into the repository:
 * creates the bucket-wide record unless one exists (then those bytes are the blob), then
 * links it under the protocol above. Ours are dropped only once the other record is linked:
 * if the collector deleted it meanwhile, ours are still here and become the record. Uploads
 * and the pull-through cache both publish this way.
 */
export async function publishStoredBlob(
  store: Storage,
  repo: string,
  digest: Digest,
  stored: BlobRecord,
): Promise<BlobRecord> {
  for (let round = 0; round < PUBLISH_ROUNDS; round++) {
    const record = await createBlobRecord(store, digest, stored);
    // Our own record: if the collector deletes it, it deletes our bytes with it.
    if (record.dataKey === stored.dataKey) return linkOrFail(store, repo, digest, record);
    const linked = await linkBlobVerified(store, repo, digest, record);
    if (linked) {
      await deleteBlobData(store, stored.dataKey);
      return linked;
    }
  }
  await deleteBlobData(store, stored.dataKey);
  throw new RegistryError("UNAVAILABLE", "the blob was garbage-collected while it was linked; push it again");
}
