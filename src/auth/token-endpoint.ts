// The registry's own token endpoint at /v2/token (distribution docs/spec/auth/token.md and
// oauth.md). GET takes Basic credentials (or none, for anonymous tokens when ANONYMOUS_PULL
// is set), repeated `scope`, `service`, `account` and `offline_token`. POST takes the OAuth2
// form: grant_type=password or refresh_token, client_id, scope, access_type=offline.
// Each token's access claim is the requested scopes cut down to what the caller may do.
import { Hono, type Context } from "hono";
import type { AppEnv } from "../http/app-env";
import { RegistryError } from "../errors";
import { readBoundedBody } from "../http/request-body";
import { fingerprint, issueAccessToken, issueRefreshToken, verifyRefreshToken } from "./access-token";
import { parseAuthorization } from "./authorization-header";
import { serviceName, TOKEN_PATH } from "./challenge";
import { secretsEqual } from "./constant-time";
import { accountForSubject, authenticatePassword, type Account } from "./credentials";
import { anonymousIdentity } from "./identity";
import { loginThrottle } from "./login-throttle";
import { refuseUnconfigured } from "./middleware";
import { countScopes, formatScope, grantScopes, MAX_BEARER_TOKEN_LENGTH, MAX_SCOPES, parseScopes } from "./scope";

export const tokenRoutes = new Hono<AppEnv>();

function badCredentials(c: Context<AppEnv>, detail: string): RegistryError {
  return new RegistryError("UNAUTHORIZED", detail, {
    "WWW-Authenticate": `Basic realm="${serviceName(c.get("config"), c.req.url)}", charset="UTF-8"`,
  });
}

function tokenSecret(c: Context<AppEnv>): string {
  const auth = c.get("config").auth;
  if (!auth.configured) throw refuseUnconfigured(c);
  if (!auth.tokenSecret)
    throw new RegistryError("UNAVAILABLE", "token authentication is off: JWT_STATE_SECRET is not set");
  return auth.tokenSecret;
}

async function passwordAccount(c: Context<AppEnv>, username: string, password: string): Promise<Account> {
  const account = await authenticatePassword(c.get("config").auth, username, password, loginThrottle(c));
  if (!account) throw badCredentials(c, "invalid username or password");
  return account;
}

/** The caller of a GET: Basic credentials, or anonymous when anonymous pull is on. */
async function getCaller(c: Context<AppEnv>): Promise<Account> {
  const credentials = parseAuthorization(c.req.header("Authorization"));
  if (credentials.kind === "basic") {
    const account = c.req.query("account");
    if (account !== undefined && account !== "" && account !== credentials.username)
      throw badCredentials(c, "account does not match the credentials");
    return passwordAccount(c, credentials.username, credentials.password);
  }
  const anonymousPull = c.get("config").auth.anonymousPull;
  if (credentials.kind === "none" && anonymousPull.length > 0)
    return { identity: anonymousIdentity(anonymousPull), binding: null };
  throw badCredentials(
    c,
    credentials.kind === "none" ? "authentication required" : "token requests take Basic credentials",
  );
}

/** A refresh token for `account`, bound to it, or undefined when refresh tokens are off or
 *  cannot apply. A JWT password's refresh token carries its actions and lapses with it. */
async function refreshTokenFor(c: Context<AppEnv>, secret: string, account: Account): Promise<string | undefined> {
  const { identity } = account;
  const ttl = c.get("config").auth.refreshTtlSeconds;
  if (ttl === 0 || identity.anonymous || account.binding === null) return undefined;
  let expiresAt = Math.floor(Date.now() / 1000) + ttl;
  if (identity.expiresAt !== undefined) expiresAt = Math.min(expiresAt, identity.expiresAt);
  const fp = await fingerprint(secret, identity.subject, account.binding);
  return issueRefreshToken(
    secret,
    serviceName(c.get("config"), c.req.url),
    { subject: identity.subject, fingerprint: fp, actions: account.actions },
    expiresAt,
  );
}

/** The account a refresh token stands for, checked against the credential and rights it was
 *  issued for: a changed password, hash, rights or JWT key refuses it. */
async function refreshAccount(c: Context<AppEnv>, secret: string, token: string): Promise<Account> {
  const refused = () => badCredentials(c, "invalid or expired refresh token");
  const claims = await verifyRefreshToken(secret, token, serviceName(c.get("config"), c.req.url));
  if (!claims?.fingerprint) throw refused();
  const account = await accountForSubject(c.get("config").auth, claims.subject, claims.actions);
  if (!account?.binding) throw refused();
  const expected = await fingerprint(secret, claims.subject, account.binding);
  if (!(await secretsEqual(claims.fingerprint, expected))) throw refused();
  return account;
}

async function grantFor(c: Context<AppEnv>, secret: string, account: Account, scopes: string[]) {
  if (countScopes(scopes) > MAX_SCOPES)
    throw new RegistryError("TOKEN_REQUEST_INVALID", `at most ${MAX_SCOPES} scopes per token request`);
  const access = grantScopes(account.identity, parseScopes(scopes));
  const auth = c.get("config").auth;
  const issued = await issueAccessToken(
    secret,
    account.identity.subject,
    serviceName(c.get("config"), c.req.url),
    access,
    auth.tokenTtlSeconds,
  );
  // The scope cap keeps tokens far below this; a very long subject or service could not.
  if (issued.token.length > MAX_BEARER_TOKEN_LENGTH)
    throw new RegistryError("TOKEN_REQUEST_INVALID", "the token would be too large: ask for fewer scopes");
  return { access, issued };
}

tokenRoutes.get(TOKEN_PATH, async (c) => {
  const secret = tokenSecret(c);
  const account = await getCaller(c);
  const { issued } = await grantFor(c, secret, account, c.req.queries("scope") ?? []);
  const refresh = c.req.query("offline_token") === "true" ? await refreshTokenFor(c, secret, account) : undefined;
  c.header("Cache-Control", "no-store");
  return c.json({
    token: issued.token,
    access_token: issued.token,
    expires_in: issued.expiresIn,
    issued_at: issued.issuedAt,
    ...(refresh ? { refresh_token: refresh } : {}),
  });
});

function requireField(form: URLSearchParams, name: string): string {
  const value = form.get(name);
  if (value === null || value === "") throw new RegistryError("TOKEN_REQUEST_INVALID", `missing ${name}`);
  return value;
}

tokenRoutes.post(TOKEN_PATH, async (c) => {
  const secret = tokenSecret(c);
  const form = new URLSearchParams(new TextDecoder().decode(await readBoundedBody(c, 64 * 1024)));
  const grantType = requireField(form, "grant_type");
  requireField(form, "client_id");
  let account: Account;
  if (grantType === "password")
    account = await passwordAccount(c, requireField(form, "username"), requireField(form, "password"));
  else if (grantType === "refresh_token")
    account = await refreshAccount(c, secret, requireField(form, "refresh_token"));
  else throw new RegistryError("TOKEN_REQUEST_INVALID", "grant_type must be password or refresh_token");
  const { access, issued } = await grantFor(c, secret, account, form.getAll("scope"));
  const offline = grantType === "password" && form.get("access_type") === "offline";
  const refresh = offline ? await refreshTokenFor(c, secret, account) : undefined;
  c.header("Cache-Control", "no-store");
  return c.json({
    access_token: issued.token,
    token: issued.token,
    scope: access.map(formatScope).join(" "),
    expires_in: issued.expiresIn,
    issued_at: issued.issuedAt,
    ...(refresh ? { refresh_token: refresh } : {}),
  });
});
