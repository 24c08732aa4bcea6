// Linking a blob into a repository while the collector may be deleting its bucket record.
// The collector condemns a record, lists the record's reverse links, and deletes it only if
// there are none. A linker writes its reverse link and link, then re-reads the record. One of
// the two sees the other, so a link never outlives its record (docs/gc.md, "Protocol").
import type { Digest } from "../oci/digest";
import { getSettledBlobRecord, linkBlob, unlinkBlob, type BlobRecord } from "../storage/blobs";
import type { Storage } from "../storage/storage";

/**
 * Links the blob and checks that its record still holds the same bytes. Returns the record
 * linked, or null (with the link removed again) when the collector deleted the record.
 */
export async function linkBlobVerified(store: Storage, repo: string, digest: Digest, record: BlobRecord): Promise<BlobRecord | null> {
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
