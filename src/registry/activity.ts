// The activity log as one caller may read it: the events of the repositories it may pull,
// newest first, filtered by repository, actor and kind. The collector's steps name no
// repository and show to admins only (and to identities whose rights are the same on every
// repository, as the collector's reports do). Front ends (the admin API path, the Activity
// page, a repository page's recent activity) call this; nothing else reads the log.
//
// Bound: a page reads at most MAX_ACTIVITY_PAGE events and scans at most MAX_SCANNED_PAGES
// listing pages (storage/events.ts); filters are applied to the listing's metadata, so an
// event the caller may not see is never read. A page that runs out of scan budget ends
// short with a cursor; the cursor names a position in time, never a repository.
import { EVENT_KINDS, type EventKind } from "../config/webhooks";
import { RegistryError } from "../errors";
import type { RegistryEvent } from "../events/event";
import { nextPageLink, parsePageQuery } from "../oci/pagination";
import { type ActivityFacts, type LogPage, listActivity, MAX_ACTIVITY_PAGE } from "../storage/events";
import type { Deps } from "../storage/deps";
import { hasAdminRight, type Identity } from "./identity";

// Front ends never import events/: they read the event's shape from here.
export type { RegistryEvent };

export interface ActivityQuery {
  limit: number;
  cursor: string | null;
  repository: string | null;
  actor: string | null;
  kind: EventKind | null;
}

/** Whether `identity` may see an event about `repository` (null: a collector step). */
function maySeeActivity(identity: Identity, repository: string | null): boolean {
  if (hasAdminRight(identity)) return true;
  if (repository === null) return identity.everyRepository === true;
  return identity.allows(repository, "pull");
}

export function readActivity(deps: Deps, identity: Identity, query: ActivityQuery): Promise<LogPage<RegistryEvent>> {
  const wanted = (facts: ActivityFacts) =>
    (query.repository === null || facts.repository === query.repository) &&
    (query.actor === null || facts.actor === query.actor) &&
    (query.kind === null || facts.kind === query.kind) &&
    maySeeActivity(identity, facts.repository);
  return listActivity<RegistryEvent>(deps.store, Math.min(query.limit, MAX_ACTIVITY_PAGE), query.cursor, wanted);
}

/** Events one page shows when the caller does not say (`n`). */
export const ACTIVITY_PAGE_DEFAULT = 50;
/** A filter value longer than any repository name or subject can be is refused, not scanned. */
const MAX_FILTER_LENGTH = 256;

function filter(query: URLSearchParams, name: string): string | null {
  const value = query.get(name);
  if (value === null || value === "") return null;
  if (value.length > MAX_FILTER_LENGTH) throw new RegistryError("QUERY_INVALID", `${name} is too long`);
  return value;
}

/** The activity query in a URL's parameters (`n`, `last`, `repository`, `actor`, `kind`),
 *  as the admin API path and the Activity page both take it. */
export function parseActivityQuery(query: URLSearchParams): ActivityQuery {
  const page = parsePageQuery(query, MAX_ACTIVITY_PAGE);
  const kind = filter(query, "kind");
  if (kind !== null && !(EVENT_KINDS as readonly string[]).includes(kind))
    throw new RegistryError("QUERY_INVALID", `kind must be one of ${EVENT_KINDS.join(", ")}`);
  return {
    limit: page.limit ?? ACTIVITY_PAGE_DEFAULT,
    cursor: page.last,
    repository: filter(query, "repository"),
    actor: filter(query, "actor"),
    kind: kind as EventKind | null,
  };
}

/** One page of the log for the API path, newest first, with the Link to the next page (the
 *  same filters, `last` set to the page's cursor), as the catalog pages. */
export async function activityPage(
  deps: Deps,
  identity: Identity,
  params: URLSearchParams,
): Promise<{ events: RegistryEvent[]; link: string | null }> {
  const query = parseActivityQuery(params);
  const page = await readActivity(deps, identity, query);
  const filters: Record<string, string> = {};
  for (const name of ["repository", "actor", "kind"] as const) {
    const value = query[name];
    if (value !== null) filters[name] = value;
  }
  const link = page.cursor === null ? null : nextPageLink("/v2/_activity", query.limit, page.cursor, filters);
  return { events: page.entries, link };
}

/** Events a repository page shows as its recent activity. */
export const VIEW_RECENT_ACTIVITY = 10;

/** The newest events about `repo` that `identity` may see, for the repository's page. */
export async function recentActivity(deps: Deps, identity: Identity, repo: string): Promise<RegistryEvent[]> {
  const query = { limit: VIEW_RECENT_ACTIVITY, cursor: null, repository: repo, actor: null, kind: null };
  return (await readActivity(deps, identity, query)).entries;
}

/** Listing pages one read of the log scans at most (the UI states its pages' costs with it). */
export { MAX_SCANNED_PAGES } from "../storage/events";
