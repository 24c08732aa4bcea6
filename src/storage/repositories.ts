// Whether a repository exists, in registry terms: it does once a manifest was pushed to it,
// which writes its catalog entry (see keys.ts). Blob links alone do not make a repository.
import { keys } from "./keys";

export async function repositoryExists(bucket: R2Bucket, repo: string): Promise<boolean> {
  return (await bucket.head(keys.catalogEntry(repo))) !== null;
}
