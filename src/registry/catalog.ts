// The catalog as one caller sees it: the repositories it may pull, in lexical order, paged
// exactly (distribution-spec "Listing Repositories"; zot filters the same way). Used by
// GET /v2/_catalog (listCatalog) and by the web UI (listPullableRepositories).
//
// Bound: a page reads at most `maxScanPages` listing pages of `scanPageSize` names (50 R2
// list calls by default, 50,000 names: well under the Free plan's 1,000 subrequests). When a
// caller who sees few repositories exhausts that before its page fills, the page ends early
// and the next-page cursor is the scan position, sealed (AES-GCM under a key derived from
// JWT_STATE_SECRET) so that it names no repository the caller may not see.
import { deriveSecretKey } from "../util/derived-key";
import { mayList, type Identity } from "./identity";
import { fromBase64Url, toBase64Url } from "../util/base64url";
import { RegistryError } from "../errors";
import { countTags } from "../storage/browse";
import type { Deps } from "../storage/deps";
import { catalogNamesAfter } from "../storage/repositories";
import type { Storage } from "../storage/storage";
import { nextPageLink, parsePageQuery } from "../oci/pagination";
import { getRepositoryUsage, type RepositoryUsage } from "../storage/usage";

export interface CatalogQuery {
  limit: number;
  /** The `last` of the request: a repository name, or a sealed cursor from a Link. */
  last: string | null;
  /** JWT_STATE_SECRET; without it a page that runs out of scan budget ends without a Link. */
  secret: string | null;
  scanPageSize?: number;
  maxScanPages?: number;
}

export interface CatalogPage {
  names: string[];
  /** The `last` of the next page's Link, or null when nothing visible follows. */
  next: string | null;
}

const SEALED = "_scan.";

/** GET /v2/_catalog: one page of what the caller may pull, with the Link to the next. */
export async function listCatalog(
  deps: Deps,
  identity: Identity,
  query: URLSearchParams,
): Promise<{ repositories: string[]; link: string | null }> {
  const page = parsePageQuery(query, deps.config.maxPageSize);
  const { names, next } = await listPullableRepositories(deps.store, identity, {
    limit: page.limit ?? deps.config.maxPageSize,
    last: page.last,
    secret: deps.config.stateSecret,
  });
  return { repositories: names, link: next === null ? null : nextPageLink("/v2/_catalog", page.limit, next) };
}

export async function listPullableRepositories(
  store: Storage,
  identity: Identity,
  query: CatalogQuery,
): Promise<CatalogPage> {
  if (query.limit === 0) return { names: [], next: null };
  const pageSize = query.scanPageSize ?? 1000;
  let after = query.last?.startsWith(SEALED) ? await unseal(query.secret, query.last) : query.last;
  const names: string[] = [];
  for (let pages = 0; pages < (query.maxScanPages ?? 50); pages++) {
    const scanned = await catalogNamesAfter(store, after, pageSize);
    for (const name of scanned.names) {
      if (!mayList(identity, name)) continue;
      // One more visible name exists: the page is full and a next page is sure to hold it.
      if (names.length === query.limit) return { names, next: names[names.length - 1]! };
      names.push(name);
    }
    if (scanned.done || scanned.names.length === 0) return { names, next: null };
    after = scanned.names[scanned.names.length - 1]!;
  }
  // Out of scan budget: resume from the scan position without revealing it.
  if (query.secret === null) return { names, next: null };
  return { names, next: await seal(query.secret, after!) };
}

const encoder = new TextEncoder();

async function cursorKey(secret: string): Promise<CryptoKey> {
  const material = await deriveSecretKey(secret, "r2-oci-registry", "catalog cursor v1");
  return crypto.subtle.importKey("raw", material, "AES-GCM", false, ["encrypt", "decrypt"]);
}

async function seal(secret: string, position: string): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const sealed = new Uint8Array(
    await crypto.subtle.encrypt({ name: "AES-GCM", iv }, await cursorKey(secret), encoder.encode(position)),
  );
  const out = new Uint8Array(iv.length + sealed.length);
  out.set(iv);
  out.set(sealed, iv.length);
  return SEALED + toBase64Url(out);
}

async function unseal(secret: string | null, cursor: string): Promise<string> {
  const invalid = new RegistryError("PAGINATION_NUMBER_INVALID", "invalid catalog cursor in last");
  const text = cursor.slice(SEALED.length);
  if (secret === null || !/^[A-Za-z0-9_-]{1,2000}$/.test(text)) throw invalid;
  try {
    const bytes = fromBase64Url(text);
    if (bytes === null) throw invalid;
    const plain = await crypto.subtle.decrypt(
      { name: "AES-GCM", iv: bytes.slice(0, 12) },
      await cursorKey(secret),
      bytes.slice(12),
    );
    return new TextDecoder().decode(plain);
  } catch {
    throw invalid;
  }
}

/** Repositories one browse page lists (the web UI's repositories page); each costs a tag
 *  count and a usage read. */
export const BROWSE_PAGE_REPOSITORIES = 25;
/** Catalog list calls (1,000 names each) one browse page may spend to fill a page. */
export const BROWSE_SCAN_PAGES = 5;

/** A repository as a browse page lists it: its tag count (a floor past R2's page of 1,000)
 *  and the collector's usage figures. */
export interface RepositorySummary {
  name: string;
  tags: { count: number; more: boolean; lastTaggedAt: number };
  /** Newest push or tag seen, by the tag listing or the collector's last pass. */
  lastPushAt: number;
  usage: RepositoryUsage | null;
}

/** One page of the repositories `identity` may list whose names contain `contains`, through
 *  the catalog the API serves: its cursor past a scan that found too few is sealed, so the
 *  next-page cursor names no repository the caller may not see. */
export async function listRepositorySummaries(
  deps: Deps,
  identity: Identity,
  contains: string,
  after: string | null,
): Promise<{ rows: RepositorySummary[]; next: string | null }> {
  const matching: Identity = {
    ...identity,
    allows: (repo, action) => repo.includes(contains) && identity.allows(repo, action),
  };
  const page = await listPullableRepositories(deps.store, matching, {
    limit: BROWSE_PAGE_REPOSITORIES,
    last: after,
    secret: deps.config.stateSecret,
    maxScanPages: BROWSE_SCAN_PAGES,
  });
  const rows = await Promise.all(
    page.names.map(async (name): Promise<RepositorySummary> => {
      const [tags, usage] = await Promise.all([countTags(deps.store, name), getRepositoryUsage(deps.store, name)]);
      return { name, tags, lastPushAt: Math.max(tags.lastTaggedAt, usage?.lastPushAt ?? 0), usage };
    }),
  );
  return { rows, next: page.next };
}
