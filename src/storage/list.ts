// Paged R2 listing. R2 may return fewer objects than asked (with customMetadata included)
// while still truncated, so callers that want N entries must follow the cursor.
import type { Storage } from "./storage";

export interface ListPage {
  objects: R2Object[];
  /** Cursor for the next page, or null at the end. */
  cursor: string | null;
}

export async function listPage(store: Storage, options: R2ListOptions): Promise<ListPage> {
  const result = await store.bucket.list(options);
  return { objects: result.objects, cursor: result.truncated ? result.cursor : null };
}

/** Lists up to `max` objects under the options' prefix, following cursors. */
export async function listAll(store: Storage, options: R2ListOptions, max: number): Promise<R2Object[]> {
  const out: R2Object[] = [];
  let cursor: string | undefined;
  do {
    const page = await listPage(store, { ...options, cursor, limit: Math.min(1000, max - out.length) });
    out.push(...page.objects);
    cursor = page.cursor ?? undefined;
  } while (cursor && out.length < max);
  return out;
}
