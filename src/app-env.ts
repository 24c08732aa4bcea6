// Hono context types shared by middleware and routes.
import type { Identity } from "./auth/identity";
import type { Config, Env } from "./config";

export interface AppEnv {
  Bindings: Env;
  Variables: { identity: Identity; config: Config };
}
