// The `n`/`last` paging parameters of tag lists, the catalog and referrers, and the Link
// header that points at the next page (distribution-spec "Listing Tags").
import { RegistryError } from "../errors";

export interface PageRequest {
  /** Entries wanted; null means the server's default page size. */
  limit: number | null;
  /** Return only entries lexically after this one. */
  last: string | null;
}

export function parsePageRequest(n: string | undefined, last: string | undefined, maxPage: number): PageRequest {
  let limit: number | null = null;
  if (n !== undefined && n !== "") {
    if (!/^[0-9]{1,9}$/.test(n)) throw new RegistryError("PAGINATION_NUMBER_INVALID", `invalid n: ${n.slice(0, 50)}`);
    limit = Math.min(Number(n), maxPage);
  }
  return { limit, last: last === undefined || last === "" ? null : last };
}

/** The `n` and `last` of a request's query: what tag lists, referrers and the catalog all
 *  read their paging from (the core's listing functions call it; routes never parse it). */
export function parsePageQuery(query: URLSearchParams, maxPage: number): PageRequest {
  return parsePageRequest(query.get("n") ?? undefined, query.get("last") ?? undefined, maxPage);
}

/** `Link: </v2/...?n=..&last=..>; rel="next"` for the page after `lastEntry`. */
export function nextPageLink(
  path: string,
  limit: number | null,
  lastEntry: string,
  extra: Record<string, string> = {},
): string {
  const params = new URLSearchParams(extra);
  if (limit !== null) params.set("n", String(limit));
  params.set("last", lastEntry);
  return `<${path}?${params.toString()}>; rel="next"`;
}
