// Authentication middleware and the access checks routes call. Unauthenticated callers get
// 401 with a challenge (naming the scope they need); callers signed in with Basic but without
// the right get 403 DENIED; callers whose token lacks the scope get 401 insufficient_scope,
// so that clients fetch a token with wider scope, as distribution does.
import type { Context, MiddlewareHandler } from "hono";
import type { AppEnv } from "../http/app-env";
import { RegistryError } from "../errors";
import { parseAuthorization } from "./authorization-header";
import { identityFromBearer } from "./bearer";
import { challengeHeader, serviceName, TOKEN_PATH, type ChallengeOptions } from "./challenge";
import { authenticatePassword } from "./credentials";
import { loginThrottle } from "./login-throttle";
import { anonymousIdentity } from "./identity";
import { hasAdminRight, type Identity } from "../registry/identity";
import type { Action } from "../config/auth";
import { ADMIN_SCOPE, CATALOG_SCOPE, formatScope, repositoryScope } from "./scope";

let warnedUnconfigured = false;

export function unauthorized(
  c: Context<AppEnv>,
  detail = "authentication required",
  options: ChallengeOptions = {},
): RegistryError {
  return new RegistryError("UNAUTHORIZED", detail, { "WWW-Authenticate": challengeHeader(c, options) });
}

export function refuseUnconfigured(c: Context<AppEnv>): RegistryError {
  if (!warnedUnconfigured) {
    console.error(
      "refusing all requests: no credentials are configured (set USERNAME/PASSWORD, READONLY_USERNAME/READONLY_PASSWORD, " +
        "JWT_REGISTRY_TOKENS_PUBLIC_KEY, AUTH_USERS_JSON or ANONYMOUS_PULL)",
    );
    warnedUnconfigured = true;
  }
  return unauthorized(c, "the registry has no credentials configured");
}

/** Resolves the request's credentials to an identity; throws 401 for bad ones. */
async function identify(c: Context<AppEnv>): Promise<Identity> {
  const auth = c.get("config").auth;
  if (!auth.configured) throw refuseUnconfigured(c);
  const credentials = parseAuthorization(c.req.header("Authorization"));
  if (credentials.kind === "none") return anonymousIdentity(auth.anonymousPull);
  if (credentials.kind === "basic") {
    const account = await authenticatePassword(auth, credentials.username, credentials.password, loginThrottle(c));
    if (account) return account.identity;
    throw unauthorized(c, "invalid username or password");
  }
  if (credentials.kind === "bearer") {
    const identity = await identityFromBearer(auth, credentials.token, serviceName(c.get("config"), c.req.url));
    if (identity) return identity;
    throw unauthorized(c, "invalid or expired token", { error: "invalid_token" });
  }
  throw unauthorized(c, "malformed Authorization header");
}

export function authenticate(): MiddlewareHandler<AppEnv> {
  return async function authenticateRequest(c, next) {
    // The token endpoint checks credentials itself: it is where clients go to get them.
    if (c.req.path === TOKEN_PATH) return next();
    c.set("identity", await identify(c));
    await next();
  };
}

function refuse(c: Context<AppEnv>, identity: Identity, scope: string, what: string): RegistryError {
  if (identity.anonymous) return unauthorized(c, "authentication required", { scope });
  if (identity.viaToken) return unauthorized(c, `token does not grant ${what}`, { scope, error: "insufficient_scope" });
  return new RegistryError("DENIED", `no ${what}`);
}

/** Throws unless the caller may do `action` on `repo`. */
export function requireAccess(c: Context<AppEnv>, repo: string, action: Action): Identity {
  const identity = c.get("identity");
  if (identity.allows(repo, action)) return identity;
  throw refuse(c, identity, repositoryScope(repo, action), `${action} access to ${repo}`);
}

/** The base endpoint needs a signed-in caller: an anonymous 200 there would make
 *  `docker login` succeed without ever checking the password. */
export function requireSignedIn(c: Context<AppEnv>): Identity {
  const identity = c.get("identity");
  if (identity.anonymous && !identity.viaToken) throw unauthorized(c);
  return identity;
}

/** Catalog listing has its own right (registry:catalog:* in token terms). */
export function requireCatalog(c: Context<AppEnv>): Identity {
  const identity = c.get("identity");
  if (identity.catalog) return identity;
  throw refuse(c, identity, formatScope(CATALOG_SCOPE), "catalog access");
}

/** Registry-wide administration (the garbage collector) needs the admin right, which no
 *  repository pattern gives (registry:admin:* in token terms). */
export function requireAdmin(c: Context<AppEnv>): Identity {
  const identity = c.get("identity");
  if (hasAdminRight(identity)) return identity;
  throw refuse(c, identity, formatScope(ADMIN_SCOPE), "administrative access");
}
