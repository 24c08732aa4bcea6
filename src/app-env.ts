// Hono context types shared by middleware and routes.
import type { Identity } from "./auth/identity";
import type { Config, Env } from "./config";
import type { Storage } from "./storage/storage";

export interface AppEnv {
  Bindings: Env;
  Variables: {
    identity: Identity;
    config: Config;
    storage: Storage;
    /** The repository named in the path, set by routes/params.ts `repository`. */
    repo: string;
  };
}
