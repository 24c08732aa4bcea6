// Cross-repository blob mount (end-11). A mount writes a link; no bytes move. The caller
// must be able to pull the source. Without `from`, any repository holding the blob that
// the caller may pull will do, found through the blob's reverse links, not a bucket scan.
import { emitChange } from "./events";
import type { Identity } from "./identity";
import { formatDigest, type Digest } from "../oci/digest";
import { getBlobLink, listBlobRepositories } from "../storage/blobs";
import { linkBlobVerified } from "../storage/blob-links";
import type { Deps } from "../storage/deps";
import { refuseMirrorWrite } from "./write-policy";

export async function mountBlob(
  deps: Deps,
  identity: Identity,
  repo: string,
  digest: Digest,
  from: string | null,
): Promise<boolean> {
  refuseMirrorWrite(deps.config, repo);
  const { store } = deps;
  const sources = from !== null ? [from] : await listBlobRepositories(store, digest);
  for (const source of sources) {
    if (!identity.allows(source, "pull")) continue;
    const link = await getBlobLink(store, source, digest);
    if (!link) continue;
    // A record the collector deleted meanwhile leaves no link: fall back to an upload.
    if ((await linkBlobVerified(store, repo, digest, link)) === null) return false;
    emitChange(deps, {
      kind: "mount",
      action: "mounted",
      repository: repo,
      digest: formatDigest(digest),
      size: link.size,
      fromRepository: from,
    });
    return true;
  }
  return false;
}
