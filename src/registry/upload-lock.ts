// One writer per upload session. A request that appends bytes first takes the session's
// lock with an etag-conditional write, so two PATCHes racing on one session cannot both
// append: the loser gets 416 with the current Range, as the spec asks for out-of-order
// chunks. A lock whose holder died (the isolate restarted, the client vanished) lapses after
// LOCK_LEASE_MS, so a client that resumes waits at most that long; a live holder refreshes
// the lease every REFRESH_AFTER_MS while bytes arrive.
import { RegistryError } from "../errors";
import { formatUploadRange } from "../oci/range";
import { readUploadState, writeUploadState, type UploadState, type VersionedState } from "../storage/uploads";
import type { Storage } from "../storage/storage";

export const LOCK_LEASE_MS = 60 * 1000;
const REFRESH_AFTER_MS = 15 * 1000;

export interface SessionIdentity {
  id: string;
  repo: string;
  owner: string;
}

export function rangeConflict(state: UploadState, detail: string): RegistryError {
  return new RegistryError("RANGE_INVALID", detail, {
    Range: formatUploadRange(state.offset),
    "Docker-Upload-UUID": state.id,
  });
}

/** Reads a session the caller may use, or throws BLOB_UPLOAD_UNKNOWN. */
export async function readOwnedSession(
  store: Storage,
  who: SessionIdentity,
  maxAgeSeconds: number,
): Promise<VersionedState> {
  const versioned = await readUploadState(store, who.id);
  const state = versioned?.state;
  if (!versioned || !state || state.repo !== who.repo || state.owner !== who.owner) {
    throw new RegistryError("BLOB_UPLOAD_UNKNOWN", "upload session unknown");
  }
  if (Date.now() - state.updatedAt > maxAgeSeconds * 1000)
    throw new RegistryError("BLOB_UPLOAD_UNKNOWN", "upload session expired");
  return versioned;
}

export class SessionLock {
  private constructor(
    private readonly store: Storage,
    public state: UploadState,
    public etag: string,
  ) {}

  static async acquire(store: Storage, who: SessionIdentity, maxAgeSeconds: number): Promise<SessionLock> {
    const { state, etag } = await readOwnedSession(store, who, maxAgeSeconds);
    const now = Date.now();
    if (state.lock && now - state.lock.at < LOCK_LEASE_MS)
      throw rangeConflict(state, "another request is writing to this upload");
    const locked: UploadState = { ...state, lock: { id: crypto.randomUUID(), at: now } };
    const newEtag = await writeUploadState(store, locked, etag);
    if (!newEtag) {
      const current = await readUploadState(store, who.id);
      throw rangeConflict(current?.state ?? state, "another request is writing to this upload");
    }
    return new SessionLock(store, locked, newEtag);
  }

  /** Keeps the lease alive during a long request. */
  async refresh(): Promise<void> {
    if (!this.state.lock || Date.now() - this.state.lock.at < REFRESH_AFTER_MS) return;
    const refreshed: UploadState = { ...this.state, lock: { id: this.state.lock.id, at: Date.now() } };
    const etag = await writeUploadState(this.store, refreshed, this.etag);
    if (!etag) throw rangeConflict(this.state, "the upload lock was lost");
    this.state = refreshed;
    this.etag = etag;
  }

  /** Writes the new state and drops the lock. Returns false if the lock had been lost. */
  async commit(next: UploadState): Promise<boolean> {
    const committed: UploadState = { ...next, lock: null, updatedAt: Date.now() };
    const etag = await writeUploadState(this.store, committed, this.etag);
    if (!etag) return false;
    this.etag = etag;
    this.state = committed;
    return true;
  }

  /** Drops the lock, leaving the session as it was. Best effort: a lapsed lease also frees it. */
  async release(): Promise<void> {
    await writeUploadState(this.store, { ...this.state, lock: null }, this.etag).catch(() => null);
  }
}
