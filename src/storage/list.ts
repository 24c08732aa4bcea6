// The one way storage lists the bucket, private to storage/: names under a prefix, a bounded
// number of them, from a start name or a cursor. R2 returns at most 1,000 entries a call and
// may return fewer while still truncated (customMetadata makes that likely), so a listing
// that wants N entries follows the cursor, at most `maxCalls` times when the caller bounds
// its cost in calls as well as in entries.
import type { Storage } from "./storage";
import { bucketOf } from "./bindings";

/** The most entries one R2 list call returns. */
const R2_LIST_LIMIT = 1000;

interface ListRequest {
  prefix: string;
  /** Start after this name (relative to the prefix); ignored when `cursor` is given. */
  after?: string | null;
  /** Resume where an earlier listing's cursor points. */
  cursor?: string | null;
  /** Entries wanted: the listing stops once it holds this many. */
  limit: number;
  /** R2 calls the listing may make to fill `limit`; without it, it follows the cursor until
   *  it holds `limit` entries or reaches the end. */
  maxCalls?: number;
  /** Read each object's customMetadata with the listing. */
  metadata?: boolean;
  /** List the names one level down (`<prefix><name>/…`) as `groups`, not the objects. */
  grouped?: boolean;
}

interface ListedObject {
  /** The key past the prefix. */
  name: string;
  object: R2Object;
}

export interface Listing {
  objects: ListedObject[];
  /** With `grouped`: the names one level down, past the prefix, without the "/". */
  groups: string[];
  /** Where the next listing starts, or null after the last entry. */
  cursor: string | null;
}

export async function listUnder(store: Storage, request: ListRequest): Promise<Listing> {
  const { prefix, limit } = request;
  const listing: Listing = { objects: [], groups: [], cursor: request.cursor ?? null };
  const held = () => listing.objects.length + listing.groups.length;
  for (let calls = 0; held() < limit && calls < (request.maxCalls ?? Number.POSITIVE_INFINITY); calls++) {
    const options: R2ListOptions = { prefix, limit: Math.min(R2_LIST_LIMIT, limit - held()) };
    if (listing.cursor !== null) options.cursor = listing.cursor;
    else if (request.after != null) options.startAfter = prefix + request.after;
    if (request.metadata) options.include = ["customMetadata"];
    if (request.grouped) options.delimiter = "/";
    const page = await bucketOf(store).list(options);
    for (const object of page.objects) listing.objects.push({ name: object.key.slice(prefix.length), object });
    for (const group of page.delimitedPrefixes) listing.groups.push(group.slice(prefix.length, -1));
    listing.cursor = page.truncated ? page.cursor : null;
    if (listing.cursor === null) break;
  }
  return listing;
}
