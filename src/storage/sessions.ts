// Web UI sessions in KV: one record per signed-in browser, written at login with the
// session's lifetime as its TTL (so abandoned sessions age out on their own) and deleted at
// logout, which is what makes a logged-out cookie worthless even before it expires. KV is
// eventually consistent: a logout holds at once where it happened, and within about 60 s
// in other locations.
import { keys } from "./keys";
import type { Storage } from "./storage";
import { kvOf } from "./bindings";

export interface SessionRecord {
  subject: string;
  /** HMAC, under the session key, of what the account's rights rest on (credentials.ts
   *  `binding`): a changed password, rule set or JWT key ends the session. */
  fingerprint: string;
  /** For JWT-password logins, the actions the JWT granted (accountForSubject needs them). */
  actions?: string[];
  expiresAt: number;
}

export async function saveSession(
  store: Storage,
  id: string,
  record: SessionRecord,
  ttlSeconds: number,
): Promise<void> {
  await kvOf(store).put(keys.uiSessionKv(id), JSON.stringify(record), { expirationTtl: Math.max(60, ttlSeconds) });
}

export async function readSession(store: Storage, id: string): Promise<SessionRecord | null> {
  return kvOf(store).getJson<SessionRecord>(keys.uiSessionKv(id));
}

export async function deleteSession(store: Storage, id: string): Promise<void> {
  await kvOf(store).delete(keys.uiSessionKv(id));
}
