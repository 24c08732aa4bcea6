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

/** Where a blob GET's bytes come from: this bucket (through the repository's link), or an
 *  upstream response the pull-through cache is streaming (and caching) as it goes. */
export type BlobSource = { kind: "stored"; link: BlobRecord } | { kind: "upstream"; response: Response };

/** Pushes and deletes would make a mirrored repository differ from its upstream: refused
 *  unless the upstream's entry sets "allow_push". */
export function refuseMirrorWrite(config: Config, repo: string): void {
  if (isReadOnlyMirror(config.proxy, repo)) {
    throw new RegistryError("DENIED", `${repo} is a read-only mirror of an upstream registry`);
  }
}
