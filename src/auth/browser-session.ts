// Browser sign-in for the web UI: a login form turns the API's credentials into a session
// cookie, every form that changes something carries the session's CSRF token, and the
// browserSession() middleware turns the cookie back into the request's `identity`, as
// authenticate() (middleware.ts) does for API credentials, so the UI's routes ask the same
// Identity the API's do.
// The cookie is an HS256 JWT (key derived from JWT_STATE_SECRET with HKDF under its own
// label, so no other token the registry signs passes as one) naming a session record in KV
// (storage/sessions.ts). The record is what logout deletes: a copied cookie dies with it.
// Cookies are HttpOnly and SameSite=Strict, and Secure unless the page is served from the
// loopback address, where browsers accept plain http.
import type { Context, MiddlewareHandler } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { jwtVerify, SignJWT } from "jose";
import type { AuthConfig } from "../config/auth";
import type { AppEnv } from "../http/app-env";
import type { Identity } from "../registry/identity";
import { deleteSession, readSession, saveSession } from "../storage/sessions";
import { toBase64Url } from "../util/base64url";
import { deriveSecretKey } from "../util/derived-key";
import { secretsEqual } from "./constant-time";
import { accountForSubject, type Account } from "./credentials";
import { anonymousIdentity, NOBODY } from "./identity";

/** A signed-in browser. */
export interface BrowserSession {
  id: string;
  subject: string;
  csrf: string;
  identity: Identity;
}

/** The context of requests a browser signs in on (the web UI's): the app's, plus the
 *  request's session, which browserSession() sets. */
export interface BrowserSessionEnv {
  Bindings: AppEnv["Bindings"];
  Variables: AppEnv["Variables"] & { session: BrowserSession | null };
}

const SESSION_COOKIE = "registry_session";
const LOGIN_CSRF_COOKIE = "registry_login_csrf";
/** How long a sign-in lasts; the user signs in again after it. */
const SESSION_TTL_SECONDS = 8 * 3600;
const LABEL = "registry ui session v1";
const ISSUER = "r2-oci-registry-ui";

function sessionKey(secret: string): Promise<Uint8Array> {
  return deriveSecretKey(secret, ISSUER, LABEL);
}

function randomToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(24));
  return toBase64Url(bytes);
}

/** HMAC, under the session key, of what the account's rights rest on (its password or hash,
 *  its rules, the JWT key): it changes when they change, and someone who can read the KV
 *  record learns nothing to guess a password against offline. */
async function fingerprint(secret: string, binding: string | null): Promise<string> {
  if (binding === null) return "";
  const key = await crypto.subtle.importKey("raw", await sessionKey(secret), { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
  ]);
  return toBase64Url(new Uint8Array(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(binding))));
}

function isLoopback(c: Context<BrowserSessionEnv>): boolean {
  const host = new URL(c.req.url).hostname;
  return host === "127.0.0.1" || host === "localhost" || host === "[::1]";
}

function cookieOptions(c: Context<BrowserSessionEnv>, maxAge: number) {
  return { path: "/", httpOnly: true, sameSite: "Strict" as const, secure: !isLoopback(c), maxAge };
}

/** Signs the account in: writes the session record and sets the cookie. */
export async function startSession(c: Context<BrowserSessionEnv>, secret: string, account: Account): Promise<void> {
  const id = randomToken();
  const csrf = randomToken();
  const now = Math.floor(Date.now() / 1000);
  const expiresAt = Math.min(now + SESSION_TTL_SECONDS, account.identity.expiresAt ?? Number.POSITIVE_INFINITY);
  await saveSession(
    c.get("storage"),
    id,
    {
      subject: account.identity.subject,
      fingerprint: await fingerprint(secret, account.binding),
      actions: account.actions,
      expiresAt,
    },
    expiresAt - now,
  );
  const jwt = await new SignJWT({ sid: id, csrf })
    .setProtectedHeader({ alg: "HS256" })
    .setIssuer(ISSUER)
    .setSubject(account.identity.subject)
    .setIssuedAt(now)
    .setExpirationTime(expiresAt)
    .sign(await sessionKey(secret));
  setCookie(c, SESSION_COOKIE, jwt, cookieOptions(c, expiresAt - now));
  deleteCookie(c, LOGIN_CSRF_COOKIE, { path: "/" });
}

/** The identity behind a session record as configured now; null once the account is gone
 *  or what its rights rest on changed (a password, a user's rules, the JWT key). */
async function identityFor(
  auth: AuthConfig,
  secret: string,
  subject: string,
  record: { fingerprint: string; actions?: string[] },
): Promise<Identity | null> {
  const account = await accountForSubject(auth, subject, record.actions);
  if (!account || !(await secretsEqual(await fingerprint(secret, account.binding), record.fingerprint))) return null;
  return account.identity;
}

/** The request's session, or null when there is none or it ended (logout, expiry, a changed
 *  password, a forged or foreign cookie). */
async function loadSession(c: Context<BrowserSessionEnv>): Promise<BrowserSession | null> {
  const cookie = getCookie(c, SESSION_COOKIE);
  const secret = c.get("config").stateSecret;
  if (!cookie || !secret) return null;
  let claims: { sid?: unknown; csrf?: unknown; sub?: string };
  try {
    claims = (
      await jwtVerify(cookie, await sessionKey(secret), {
        algorithms: ["HS256"],
        issuer: ISSUER,
        requiredClaims: ["exp", "sub"],
      })
    ).payload;
  } catch {
    return null;
  }
  if (typeof claims.sid !== "string" || typeof claims.csrf !== "string" || !claims.sub) return null;
  const record = await readSession(c.get("storage"), claims.sid);
  if (!record || record.subject !== claims.sub || record.expiresAt * 1000 <= Date.now()) return null;
  const identity = await identityFor(c.get("config").auth, secret, claims.sub, record);
  return identity ? { id: claims.sid, subject: claims.sub, csrf: claims.csrf, identity } : null;
}

export async function endSession(c: Context<BrowserSessionEnv>, session: BrowserSession | null): Promise<void> {
  if (session) await deleteSession(c.get("storage"), session.id);
  deleteCookie(c, SESSION_COOKIE, { path: "/", secure: !isLoopback(c) });
}

/** The login form's CSRF token: a random value in a SameSite=Strict cookie that the form
 *  must echo (there is no session yet to hold one). */
export function loginCsrf(c: Context<BrowserSessionEnv>): string {
  const existing = getCookie(c, LOGIN_CSRF_COOKIE);
  if (existing && /^[A-Za-z0-9_-]{32}$/.test(existing)) return existing;
  const token = randomToken();
  setCookie(c, LOGIN_CSRF_COOKIE, token, cookieOptions(c, 3600));
  return token;
}

export async function loginCsrfValid(c: Context<BrowserSessionEnv>, sent: unknown): Promise<boolean> {
  const expected = getCookie(c, LOGIN_CSRF_COOKIE);
  return typeof sent === "string" && sent !== "" && !!expected && (await secretsEqual(sent, expected));
}

export async function sessionCsrfValid(session: BrowserSession | null, sent: unknown): Promise<boolean> {
  return session !== null && typeof sent === "string" && sent !== "" && (await secretsEqual(sent, session.csrf));
}

/** Sets the request's `session` and `identity`: a signed-in browser acts with its account's
 *  identity as configured now; any other browser with anonymous pull's, as a request without
 *  credentials does on the API (and with none at all while no credentials are configured,
 *  where the API refuses every request). Needs the app's `config` and `storage`. */
export function browserSession(): MiddlewareHandler<BrowserSessionEnv> {
  return async function identifyBrowser(c, next) {
    const session = await loadSession(c);
    const auth = c.get("config").auth;
    c.set("session", session);
    c.set("identity", session?.identity ?? (auth.configured ? anonymousIdentity(auth.anonymousPull) : NOBODY));
    await next();
  };
}
