// Repositories in registry terms: one exists once a manifest was pushed to it, which writes
// its catalog entry (see keys.ts); blob links alone do not make one. Also the catalog's names.
import { keys } from "./keys";
import { listUnder } from "./list";
import type { Storage } from "./storage";
import { bucketOf } from "./bindings";

export async function repositoryExists(store: Storage, repo: string): Promise<boolean> {
  return (await bucketOf(store).head(keys.catalogEntry(repo))) !== null;
}

/** Up to `limit` (≤ 1000) repository names after `after`, in lexical order, from one R2 list
 *  call; `done` when none follow. */
export async function catalogNamesAfter(
  store: Storage,
  after: string | null,
  limit: number,
): Promise<{ names: string[]; done: boolean }> {
  const listing = await listUnder(store, { prefix: keys.catalogPrefix(), after, limit, maxCalls: 1 });
  return { names: listing.objects.map((o) => o.name), done: listing.cursor === null };
}
