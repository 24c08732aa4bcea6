// Who is calling, and what they may do. Every credential kind resolves to an Identity;
// routes ask it, never the credentials.

export type Action = "pull" | "push" | "delete";

export interface Identity {
  /** Stable name, used to bind upload sessions to their owner. Never a secret. */
  subject: string;
  anonymous: boolean;
  /** May this identity do `action` on repository `repo`? */
  allows(repo: string, action: Action): boolean;
  /** May it list the catalog? */
  catalog: boolean;
}

/** An identity with the same actions on every repository. */
export function globalIdentity(subject: string, actions: readonly Action[], catalog: boolean, anonymous = false): Identity {
  const granted = new Set(actions);
  return { subject, anonymous, catalog, allows: (_repo, action) => granted.has(action) };
}

export const NOBODY: Identity = { subject: "", anonymous: true, catalog: false, allows: () => false };
