// Opt-in CORS for browser UIs: CORS_ALLOWED_ORIGINS lists the origins (or "*"). Unset, no
// CORS headers are sent and browsers keep other origins out. Preflights are answered before
// authentication, since browsers send them without credentials.
import type { MiddlewareHandler } from "hono";
import { cors } from "hono/cors";
import type { AppEnv } from "../http/app-env";
import type { Config } from "../config/config";

const EXPOSED = [
  "Docker-Content-Digest",
  "Docker-Upload-UUID",
  "Docker-Distribution-API-Version",
  "Location",
  "Range",
  "Content-Range",
  "Content-Length",
  "ETag",
  "Link",
  "WWW-Authenticate",
  "OCI-Chunk-Min-Length",
  "OCI-Chunk-Max-Length",
  "OCI-Subject",
  "OCI-Filters-Applied",
  "OCI-Tag",
];
const ALLOWED_HEADERS = ["Authorization", "Accept", "Content-Type", "Content-Range", "Range", "Content-Length"];

const handlers = new WeakMap<Config, MiddlewareHandler<AppEnv>>();

function handlerFor(config: Config): MiddlewareHandler<AppEnv> {
  let handler = handlers.get(config);
  if (!handler) {
    const origins = config.auth.corsOrigins;
    handler = cors({
      origin: origins.includes("*") ? "*" : origins,
      allowMethods: ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
      allowHeaders: ALLOWED_HEADERS,
      exposeHeaders: EXPOSED,
      maxAge: 600,
    });
    handlers.set(config, handler);
  }
  return handler;
}

export function corsForAllowedOrigins(): MiddlewareHandler<AppEnv> {
  return async function allowedOriginsCors(c, next) {
    const config = c.get("config");
    if (config.auth.corsOrigins.length === 0) return next();
    return handlerFor(config)(c, next);
  };
}
