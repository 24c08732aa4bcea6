// Who is calling, and what they may do. Every credential kind resolves to an Identity;
// routes ask it, never the credentials.
import { matchesAny, matchesPattern } from "./repository-pattern";

export type Action = "pull" | "push" | "delete";

/**
 * Each credential kind names its subjects in its own namespace, so a team user called like
 * the shared login (or a JWT username like a team user) is a different identity: it cannot
 * reach the other's upload sessions or refresh tokens.
 */
export const SUBJECT_PREFIX = {
  /** USERNAME / PASSWORD */
  admin: "admin:",
  /** READONLY_USERNAME / READONLY_PASSWORD */
  readonly: "readonly:",
  /** AUTH_USERS_JSON */
  user: "user:",
  /** A JWT signed by JWT_REGISTRY_TOKENS_PUBLIC_KEY, used as the password */
  jwt: "jwt:",
} as const;

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

export interface Privileges {
  catalog: boolean;
  admin?: boolean;
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

/** An identity with the same actions on every repository. */
export function globalIdentity(subject: string, actions: readonly Action[], privileges: Privileges): Identity {
  const granted = new Set(actions);
  return {
    subject,
    anonymous: false,
    catalog: privileges.catalog,
    admin: privileges.admin === true,
    everyRepository: true,
    allows: (_repo, action) => granted.has(action),
  };
}

/** An identity whose rights come from repository patterns (the users configuration). */
export function patternIdentity(
  subject: string,
  rules: readonly { pattern: string; actions: ReadonlySet<Action> }[],
  privileges: Privileges,
): Identity {
  return {
    subject,
    anonymous: false,
    catalog: privileges.catalog,
    admin: privileges.admin === true,
    allows: (repo, action) => rules.some((rule) => rule.actions.has(action) && matchesPattern(rule.pattern, repo)),
  };
}

/** Adds anonymous pull on matching repositories: whatever anybody may pull, everyone may. */
export function withAnonymousPull(identity: Identity, patterns: readonly string[]): Identity {
  if (patterns.length === 0) return identity;
  return {
    ...identity,
    allows: (repo, action) => identity.allows(repo, action) || (action === "pull" && matchesAny(patterns, repo)),
  };
}

export const NOBODY: Identity = { subject: "", anonymous: true, catalog: false, admin: false, allows: () => false };

export function anonymousIdentity(patterns: readonly string[]): Identity {
  return withAnonymousPull({ ...NOBODY, subject: "anonymous" }, patterns);
}
