// Who is calling, and what they may do. Every credential kind resolves to an Identity;
// routes ask it, never the credentials.
import { matchesAny, matchesPattern } from "./repository-pattern";

export type Action = "pull" | "push" | "delete";

export interface Identity {
  /** Stable name, used to bind upload sessions to their owner. Never a secret. The same user
   *  has the same subject whether it signs in with Basic or with a token. */
  subject: string;
  anonymous: boolean;
  /** May this identity do `action` on repository `repo`? */
  allows(repo: string, action: Action): boolean;
  /** May it list the catalog? */
  catalog: boolean;
  /** Rights come from a bearer token's scopes: a missing right is an insufficient scope
   *  (401, so the client fetches a wider token), not a final 403. */
  viaToken?: boolean;
  /** Seconds since the epoch after which the credential behind it lapses (JWT passwords). */
  expiresAt?: number;
}

/** An identity with the same actions on every repository. */
export function globalIdentity(subject: string, actions: readonly Action[], catalog: boolean, anonymous = false): Identity {
  const granted = new Set(actions);
  return { subject, anonymous, catalog, allows: (_repo, action) => granted.has(action) };
}

/** An identity whose rights come from repository patterns (the users configuration). */
export function patternIdentity(subject: string, rules: readonly { pattern: string; actions: ReadonlySet<Action> }[], catalog: boolean): Identity {
  return {
    subject,
    anonymous: false,
    catalog,
    allows: (repo, action) => rules.some((rule) => rule.actions.has(action) && matchesPattern(rule.pattern, repo)),
  };
}

/** Adds anonymous pull on matching repositories: whatever anybody may pull, everyone may. */
export function withAnonymousPull(identity: Identity, patterns: readonly string[]): Identity {
  if (patterns.length === 0) return identity;
  return { ...identity, allows: (repo, action) => identity.allows(repo, action) || (action === "pull" && matchesAny(patterns, repo)) };
}

export const NOBODY: Identity = { subject: "", anonymous: true, catalog: false, allows: () => false };

export function anonymousIdentity(patterns: readonly string[]): Identity {
  return withAnonymousPull({ ...NOBODY, subject: "anonymous" }, patterns);
}
