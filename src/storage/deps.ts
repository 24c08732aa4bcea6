// What the registry core and the side services it calls are handed for one request (or one
// cron run): storage, with its meter; the configuration; waitUntil, for work that outlives
// the response (a pull-through cache fill, an event); and the request itself, which the
// core's events name. The one shape of its kind, always the
// first argument. Front ends build it (routes/params.ts); nothing here reads Env. It lives
// in storage/ because every layer that takes it ranks above storage.
import type { Config } from "../config/config";
import type { Storage } from "./storage";

export interface Deps {
  store: Storage;
  config: Config;
  /** Keeps work alive after the response has been returned. */
  waitUntil(promise: Promise<unknown>): void;
  /** The request being served; absent for the cron trigger, which no one called. */
  request?: RequestOrigin;
}

/** Who made a request and which one it was, as the core's events name them: built once per
 *  request by the front ends (http/request-deps.ts). */
export interface RequestOrigin {
  /** The identity's subject (a user name or a token's subject), never a credential; null
   *  for the anonymous caller. */
  actor: string | null;
  /** Cloudflare's `cf-ray` when the request carries one, else an id generated for it. */
  id: string;
  method: string;
  /** The URL's path, never its query: upload URLs carry a state token there. */
  path: string;
  host: string | null;
  userAgent: string | null;
}
