// The WWW-Authenticate challenge of a 401. With token auth on (the default, whenever
// JWT_STATE_SECRET is set), it points clients at our token endpoint
// (distribution docs/spec/auth/token.md, "How to authenticate"):
//   Bearer realm="<origin>/v2/token",service="<host>",scope="repository:<name>:pull,push"
// Otherwise it asks for Basic credentials. With PUBLIC_URL set, the realm and service come
// from it, never from the request's Host header.
import type { Context } from "hono";
import type { AppEnv } from "../http/app-env";
import type { Config } from "../config/config";

export const TOKEN_PATH = "/v2/token";

/** The registry's public origin: PUBLIC_URL when set, else the origin of `requestUrl` (its
 *  Host header, which a client or a misconfigured proxy controls). Takes the config, not a
 *  hono Context, so the API and the web UI (whose Context types differ) share it. */
function publicOrigin(config: Pick<Config, "publicUrl">, requestUrl: string): string {
  return config.publicUrl ?? new URL(requestUrl).origin;
}

/** The service name tokens are issued for and checked against: the host clients address
 *  (PUBLIC_URL's host, else the request's). */
export function serviceName(config: Pick<Config, "publicUrl">, requestUrl: string): string {
  return new URL(publicOrigin(config, requestUrl)).host;
}

function tokenAuthEnabled(c: Context<AppEnv>): boolean {
  const auth = c.get("config").auth;
  return auth.challenge === "bearer" && auth.tokenSecret !== null;
}

/** Quotes a value for an auth-param; our values never hold quotes, but stay safe anyway. */
function quote(value: string): string {
  return `"${value.replace(/["\\]/g, "")}"`;
}

export interface ChallengeOptions {
  scope?: string;
  /** RFC 6750 error: invalid_token or insufficient_scope. */
  error?: "invalid_token" | "insufficient_scope";
}

export function challengeHeader(c: Context<AppEnv>, options: ChallengeOptions = {}): string {
  const config = c.get("config");
  const service = serviceName(config, c.req.url);
  if (!tokenAuthEnabled(c)) return `Basic realm=${quote(service)}, charset="UTF-8"`;
  const params = [`realm=${quote(`${publicOrigin(config, c.req.url)}${TOKEN_PATH}`)}`, `service=${quote(service)}`];
  if (options.scope) params.push(`scope=${quote(options.scope)}`);
  if (options.error) params.push(`error=${quote(options.error)}`);
  return `Bearer ${params.join(",")}`;
}
