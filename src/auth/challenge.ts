// The WWW-Authenticate challenge of a 401. With token auth on (the default, whenever
// JWT_STATE_SECRET is set), it points clients at our token endpoint
// (distribution docs/spec/auth/token.md, "How to authenticate"):
//   Bearer realm="<origin>/v2/token",service="<host>",scope="repository:<name>:pull,push"
// Otherwise it asks for Basic credentials. With PUBLIC_URL set, the realm and service come
// from it, never from the request's Host header.
import type { Context } from "hono";
import type { AppEnv } from "../app-env";

export const TOKEN_PATH = "/v2/token";

/** The registry's public origin: PUBLIC_URL when set, else the origin the request came to
 *  (its Host header, which a client or a misconfigured proxy controls). */
export function publicOrigin(c: Context<AppEnv>): string {
  return c.get("config").publicUrl ?? new URL(c.req.url).origin;
}

/** The service name tokens are issued for and checked against: the host clients address. */
export function serviceName(c: Context<AppEnv>): string {
  return new URL(publicOrigin(c)).host;
}

export function tokenAuthEnabled(c: Context<AppEnv>): boolean {
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
  if (!tokenAuthEnabled(c)) return `Basic realm=${quote(serviceName(c))}, charset="UTF-8"`;
  const params = [`realm=${quote(`${publicOrigin(c)}${TOKEN_PATH}`)}`, `service=${quote(serviceName(c))}`];
  if (options.scope) params.push(`scope=${quote(options.scope)}`);
  if (options.error) params.push(`error=${quote(options.error)}`);
  return `Bearer ${params.join(",")}`;
}
