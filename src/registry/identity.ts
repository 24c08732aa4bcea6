// Who is calling, as the registry core sees it: a subject and the rights the core asks
// about. The core defines this shape and every rule that reads it (rights, the catalog's
// filter, the admin right); auth/ builds the values, one per credential kind, and front ends
// pass them down. Nothing here knows how a caller signed in.
import type { Action } from "../config/auth";

export interface Identity {
  /** Stable name, used to bind upload sessions to their owner. Never a secret. The same user
   *  has the same subject whether it signs in with Basic or with a token. */
  subject: string;
  anonymous: boolean;
  /** May this identity do `action` on repository `repo`? */
  allows(repo: string, action: Action): boolean;
  /** May it list the catalog? (It then sees only the repositories it may pull.) */
  catalog: boolean;
  /** Which repositories the catalog shows it, when that differs from `allows(repo, "pull")`:
   *  a token's identity lists what the account it was issued to may pull, not only the
   *  repositories in its scopes, so a catalog-only token still lists its user's repositories. */
  listable?(repo: string): boolean;
  /** The registry-wide administrative right: running the garbage collector and reading its
   *  reports. Held by the shared USERNAME login and by team users marked `"admin": true`;
   *  never derived from repository patterns. */
  admin: boolean;
  /** Its rights are the same on every repository (the shared logins, JWT passwords), so it
   *  may see what names no repository: the collector's bucket-wide report items. */
  everyRepository?: boolean;
  /** Rights come from a bearer token's scopes: a missing right is an insufficient scope
   *  (401, so the client fetches a wider token), not a final 403. */
  viaToken?: boolean;
  /** Seconds since the epoch after which the credential behind it lapses (JWT passwords). */
  expiresAt?: number;
}

/** The registry-wide administrative right (Identity.admin): the one check behind the
 *  collector (POST /v2/_gc and its reports) and the web UI's bucket-wide figures. */
export function hasAdminRight(identity: Identity): boolean {
  return identity.admin;
}

/** Whether the catalog shows `repo` to `identity`. */
export function mayList(identity: Identity, repo: string): boolean {
  return identity.listable ? identity.listable(repo) : identity.allows(repo, "pull");
}
