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
import type { EventKind } from "../config/webhooks";
import type { RegistryEvent } from "../events/event";
import { type ActivityFacts, type LogPage, listActivity, MAX_ACTIVITY_PAGE } from "../storage/events";
import type { Deps } from "../storage/deps";
import { hasAdminRight, type Identity } from "./identity";

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
