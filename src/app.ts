// The hono app: middleware, route mounting, and the one place errors become responses.
import { Hono, type MiddlewareHandler } from "hono";
import type { AppEnv } from "./http/app-env";
import { corsForAllowedOrigins } from "./auth/cors";
import { authenticate } from "./auth/middleware";
import { tokenRoutes } from "./auth/token-endpoint";
import { parseConfig } from "./config/config";
import { RegistryError } from "./errors";
import type { Usage } from "./storage/meter";
import { openStorage } from "./storage/storage";
import { activityRoutes } from "./routes/activity";
import { baseRoutes } from "./routes/base";
import { blobRoutes } from "./routes/blobs";
import { allowedMethods } from "./routes/endpoints";
import { gcRoutes } from "./routes/gc";
import { manifestRoutes } from "./routes/manifests";
import { referrerRoutes } from "./routes/referrers";
import { tagRoutes } from "./routes/tags";
import { uploadRoutes } from "./routes/uploads";
import { UI_PATHS, uiRoutes } from "./ui/routes";

export interface AppOptions {
  /** Called with each /v2/ request's storage usage once its response is ready: tests read
   *  the counts here (test/helpers.ts, meteredRequest). */
  onUsage?: (usage: Usage, request: Request) => void;
}

/** A configuration error is the operator's to read, in the log; callers get a bare 503, so
 *  that no variable, user name or pattern is shown to whoever asks. */
function readConfig(env: AppEnv["Bindings"]) {
  try {
    return parseConfig(env);
  } catch (error) {
    console.error(`refusing requests: ${error instanceof Error ? error.message : String(error)}`);
    throw new RegistryError("UNAVAILABLE");
  }
}

export function createApp(options: AppOptions = {}): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.use("*", async function registryHeaders(c, next) {
    await next();
    c.res.headers.set("Docker-Distribution-API-Version", "registry/2.0");
  });

  const loadConfig: MiddlewareHandler<AppEnv> = async function loadConfig(c, next) {
    c.set("config", readConfig(c.env));
    await next();
  };
  app.use("/v2/*", loadConfig);
  const meterStorage: MiddlewareHandler<AppEnv> = async function meterStorage(c, next) {
    const storage = openStorage(c.env);
    c.set("storage", storage);
    const started = Date.now();
    await next();
    // One line per request with what it cost in storage calls (never the query: upload
    // URLs carry a state token there).
    const usage = storage.meter.usage();
    const line = {
      method: c.req.method,
      path: new URL(c.req.url).pathname,
      status: c.res.status,
      ms: Date.now() - started,
      ...usage,
    };
    console.log("request", JSON.stringify(line));
    options.onUsage?.(usage, c.req.raw);
  };
  app.use("/v2/*", meterStorage);
  app.use("/v2/*", corsForAllowedOrigins());
  app.use("/v2/*", authenticate());

  // The token endpoint (/v2/token) checks credentials itself; authenticate() lets it through.
  app.route("/", tokenRoutes);
  // Uploads first: "<name>/blobs/uploads/" must not be read as a blob named "uploads".
  app.route("/", gcRoutes);
  app.route("/", activityRoutes);
  app.route("/", uploadRoutes);
  app.route("/", baseRoutes);
  app.route("/", blobRoutes);
  app.route("/", manifestRoutes);
  app.route("/", tagRoutes);
  app.route("/", referrerRoutes);
  // The web UI (src/ui/): pages at /, /r/... and /-/..., outside /v2/, configured and
  // metered the same way; it sets the caller's identity from its browser session itself.
  for (const path of UI_PATHS) app.use(path, loadConfig, meterStorage);
  app.route("/", uiRoutes);

  app.notFound((c) => {
    const allowed = allowedMethods(new URL(c.req.url).pathname);
    if (allowed && !allowed.includes(c.req.method)) {
      return errorResponse(
        new RegistryError("METHOD_UNKNOWN", `${c.req.method} is not allowed here`, { Allow: allowed.join(", ") }),
      );
    }
    return errorResponse(new RegistryError("NOT_FOUND", "no such endpoint"));
  });

  app.onError((error, c) => {
    if (error instanceof RegistryError) {
      // Server-side failures are logged (never credentials: only the path and our message).
      if (error.status >= 500)
        console.error(`${c.req.method} ${new URL(c.req.url).pathname}: ${error.code} ${error.message}`);
      return errorResponse(error);
    }
    console.error("unhandled error", error instanceof Error ? (error.stack ?? error.message) : String(error));
    return errorResponse(new RegistryError("UNKNOWN", "internal error"));
  });
  return app;
}

export const app = createApp();

export function errorResponse(error: RegistryError): Response {
  const headers = new Headers({ "Content-Type": "application/json", ...error.headers });
  headers.set("Docker-Distribution-API-Version", "registry/2.0");
  return new Response(JSON.stringify(error.toBody()), { status: error.status, headers });
}
