// Blob reads and deletes for the routes. The core, not the route, decides where a blob comes
// from: the repository's own link, else (for a mirrored repository) the pull-through cache.
import type { Identity } from "./identity";
import { RegistryError } from "../errors";
import { formatDigest, type Digest } from "../oci/digest";
import { pullThroughBlob, type PulledBlob } from "../proxy/blobs";
import { readBlobData } from "../storage/blob-data";
import { getBlobLink, unlinkBlob, type BlobRecord } from "../storage/blobs";
import { refuseDelete } from "./write-policy";
import type { Deps } from "../storage/deps";

/** Where a blob GET's bytes come from: this bucket (through the repository's link), or an
 *  upstream answer the pull-through cache is streaming (and caching) as it goes. */
export type BlobSource = PulledBlob;

/** The blob as the repository serves it; BLOB_UNKNOWN when neither it nor an upstream has it. */
export async function findBlob(deps: Deps, repo: string, digest: Digest, request: Request): Promise<BlobSource> {
  const link = await getBlobLink(deps.store, repo, digest);
  if (link) return { kind: "stored", link };
  const proxied = await pullThroughBlob(deps, repo, digest, request);
  if (proxied) return proxied;
  throw new RegistryError("BLOB_UNKNOWN", `blob unknown: ${formatDigest(digest)}`);
}

/** The stored bytes behind a link, whole or a range. */
export async function readBlob(
  deps: Deps,
  link: BlobRecord,
  digest: Digest,
  range?: { offset: number; length: number },
): Promise<ReadableStream> {
  const body = await readBlobData(deps.store, link, range);
  if (!body) throw new RegistryError("BLOB_UNKNOWN", `blob data missing: ${formatDigest(digest)}`);
  return body;
}

/** DELETE removes only this repository's link; the bytes stay for every other repository
 *  that links them, and garbage collection frees them once nothing does. */
export async function deleteBlob(
  deps: Deps,
  identity: Pick<Identity, "allows">,
  repo: string,
  digest: Digest,
): Promise<void> {
  refuseDelete(deps.config, identity, repo);
  if (!(await getBlobLink(deps.store, repo, digest)))
    throw new RegistryError("BLOB_UNKNOWN", `blob unknown: ${formatDigest(digest)}`);
  await unlinkBlob(deps.store, repo, digest);
}
