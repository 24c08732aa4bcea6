// Hono context types shared by middleware and routes.
import type { Identity } from "../registry/identity";
import type { Config, Env } from "../config/config";
import type { Storage } from "../storage/storage";

export interface AppEnv {
  Bindings: Env;
  Variables: {
    identity: Identity;
    config: Config;
    storage: Storage;
    /** The repository named in the path, set by routes/params.ts `repository`. */
    repo: string;
    /** This request's id, set by the first deps(c) (http/request-deps.ts), so every call
     *  the core makes in one request names the same id. */
    requestId?: string;
  };
}
