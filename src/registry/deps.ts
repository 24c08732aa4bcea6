// What the registry core is handed for one request (or one cron run): storage, with its
// meter; the configuration; and waitUntil, for work that outlives the response (a
// pull-through cache fill). Routes build it (routes/params.ts); nothing here reads Env.
import type { Config } from "../config";
import { RegistryError } from "../errors";
import { isReadOnlyMirror } from "../proxy/config";
import type { BlobRecord } from "../storage/blobs";
import type { Storage } from "../storage/storage";

export interface RegistryDeps {
  store: Storage;
  config: Config;
  /** Keeps work alive after the response has been returned. */
  waitUntil(promise: Promise<unknown>): void;
}

/** An upstream's blob answer as the pull-through cache passes it on. The route gives it the
 *  headers every blob answer has, so a proxied copy looks like a stored one. */
export interface UpstreamBlob {
  status: number;
  /** Null for HEAD. */
  body: ReadableStream | null;
  /** The length the upstream declared; null when it did not (or compressed the body). */
  length: number | null;
  contentRange: string | null;
  acceptRanges: string | null;
}

/** Where a blob GET's bytes come from: this bucket (through the repository's link), or an
 *  upstream answer the pull-through cache is streaming (and caching) as it goes. */
export type BlobSource = { kind: "stored"; link: BlobRecord } | { kind: "upstream"; blob: UpstreamBlob };

/** Pushes and deletes would make a mirrored repository differ from its upstream: refused
 *  unless the upstream's entry sets "allow_push". The reason, or null when writes may go. */
export function mirrorWriteRefusal(config: Config, repo: string): string | null {
  return isReadOnlyMirror(config.proxy, repo) ? `${repo} is a read-only mirror of an upstream registry` : null;
}

export function refuseMirrorWrite(config: Config, repo: string): void {
  const refusal = mirrorWriteRefusal(config, repo);
  if (refusal) throw new RegistryError("DENIED", refusal);
}
