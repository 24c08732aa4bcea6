// The identities each credential kind resolves to (registry/identity.ts defines the shape the
// core asks): shared logins, pattern-ruled users, anonymous pull. Routes ask the identity,
// never the credentials.
import { isAnonymouslyPullable, type Action } from "../config/auth";
import { matchesPattern } from "../config/repository-pattern";
import type { Identity } from "../registry/identity";

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

export interface Privileges {
  catalog: boolean;
  admin?: boolean;
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
    allows: (repo, action) =>
      identity.allows(repo, action) || (action === "pull" && isAnonymouslyPullable({ anonymousPull: patterns }, repo)),
  };
}

export const NOBODY: Identity = {
  subject: "nobody",
  anonymous: true,
  catalog: false,
  admin: false,
  allows: () => false,
};

export function anonymousIdentity(patterns: readonly string[]): Identity {
  return withAnonymousPull({ ...NOBODY, subject: "anonymous" }, patterns);
}
