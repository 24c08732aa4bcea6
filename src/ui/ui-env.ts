// Hono context types of the web UI: the API's, plus the browser session.
import type { AppEnv } from "../http/app-env";
import type { Identity } from "../registry/identity";

/** A signed-in browser (ui/session.ts). */
export interface UiSession {
  id: string;
  subject: string;
  csrf: string;
  identity: Identity;
}

export interface UiEnv {
  Bindings: AppEnv["Bindings"];
  Variables: AppEnv["Variables"] & { session: UiSession | null };
}
