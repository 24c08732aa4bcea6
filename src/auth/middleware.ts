// Authentication middleware and the access check routes call. Unauthenticated callers get
// 401 with a challenge; authenticated callers without the right get 403 DENIED.
import type { Context, MiddlewareHandler } from "hono";
import type { AppEnv } from "../app-env";
import { RegistryError } from "../errors";
import { parseAuthorization } from "./authorization-header";
import { credentialsConfigured, identityFromPassword } from "./credentials";
import { NOBODY, type Action, type Identity } from "./identity";

let warnedUnconfigured = false;

function challenge(c: Context<AppEnv>): Record<string, string> {
  return { "WWW-Authenticate": `Basic realm="${new URL(c.req.url).host}", charset="UTF-8"` };
}

export function unauthorized(c: Context<AppEnv>, detail = "authentication required"): RegistryError {
  return new RegistryError("UNAUTHORIZED", detail, challenge(c));
}

export function authenticate(): MiddlewareHandler<AppEnv> {
  return async function authenticateRequest(c, next) {
    if (!credentialsConfigured(c.env)) {
      if (!warnedUnconfigured) {
        console.error("refusing all requests: no credentials are configured (set USERNAME/PASSWORD, READONLY_USERNAME/READONLY_PASSWORD or JWT_REGISTRY_TOKENS_PUBLIC_KEY)");
        warnedUnconfigured = true;
      }
      throw unauthorized(c, "the registry has no credentials configured");
    }
    const credentials = parseAuthorization(c.req.header("Authorization"));
    let identity: Identity | null = NOBODY;
    if (credentials.kind === "basic") identity = await identityFromPassword(c.env, credentials.username, credentials.password);
    else if (credentials.kind === "bearer") identity = null;
    else if (credentials.kind === "malformed") identity = null;
    if (!identity) throw unauthorized(c, "invalid credentials");
    c.set("identity", identity);
    await next();
  };
}

/** Throws unless the caller may do `action` on `repo`. */
export function requireAccess(c: Context<AppEnv>, repo: string, action: Action): Identity {
  const identity = c.get("identity");
  if (identity.allows(repo, action)) return identity;
  if (identity.anonymous) throw unauthorized(c);
  throw new RegistryError("DENIED", `no ${action} access to ${repo}`);
}

/** The base endpoint and the catalog need a signed-in caller (or anonymous access). */
export function requireSignedIn(c: Context<AppEnv>): Identity {
  const identity = c.get("identity");
  if (identity.anonymous) throw unauthorized(c);
  return identity;
}
