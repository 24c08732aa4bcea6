// What the registry core and the side services it calls are handed for one request (or one
// cron run): storage, with its meter; the configuration; and waitUntil, for work that
// outlives the response (a pull-through cache fill). The one shape of its kind, always the
// first argument. Front ends build it (routes/params.ts); nothing here reads Env. It lives
// in storage/ because every layer that takes it ranks above storage.
import type { Config } from "../config/config";
import type { Storage } from "./storage";

export interface Deps {
  store: Storage;
  config: Config;
  /** Keeps work alive after the response has been returned. */
  waitUntil(promise: Promise<unknown>): void;
}
