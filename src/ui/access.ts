// What the web UI offers a caller. Rights come from the same Identity the API checks (the
// admin right too: hasAdminRight in auth/identity.ts); the UI hides what the identity could
// not do anyway, and every changing route checks again.
import type { Identity } from "../registry/identity";

export function mayPull(identity: Identity, repo: string): boolean {
  return identity.allows(repo, "pull");
}

// Deletes are the API's own policy (registry/delete-policy.ts), asked directly: rights,
// read-only mirrors and DELETES_ENABLED in one place.
