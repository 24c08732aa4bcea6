// Resolves a username and password to an Account under the configured modes, in this order:
// USERNAME/PASSWORD (pull, push, delete, catalog), READONLY_USERNAME/READONLY_PASSWORD (pull,
// catalog), a user of AUTH_USERS_JSON (its patterns), and a JWT signed by the key in
// JWT_REGISTRY_TOKENS_PUBLIC_KEY used as the password (its capabilities).
import type { AuthConfig, ConfiguredUser, SharedSecretLogin } from "./auth-config";
import { secretsEqual } from "./constant-time";
import { globalIdentity, patternIdentity, SUBJECT_PREFIX, withAnonymousPull, type Action, type Identity } from "./identity";
import { verifyPassword } from "./password-hash";
import { identityFromSignedToken } from "./signed-password";

export interface Account {
  identity: Identity;
  /** What the credential rests on, for refresh-token fingerprints; null when the refresh
   *  token carries the rights itself (JWT passwords). Never logged or sent. */
  secret: string | null;
  /** For JWT passwords: the actions the JWT grants, carried by its refresh tokens. */
  actions?: Action[];
}

const FULL: Action[] = ["pull", "push", "delete"];

async function sharedLoginMatches(login: SharedSecretLogin | null, username: string, password: string): Promise<boolean> {
  if (!login) return false;
  const [u, p] = await Promise.all([secretsEqual(username, login.username), secretsEqual(password, login.password)]);
  return u && p;
}

/** PBKDF2 costs tens of milliseconds of CPU; clients that send Basic on every request would
 *  pay it each time. Successful checks are remembered per isolate under a SHA-256 of the
 *  stored hash and the password, so a changed hash or password misses the cache. */
const verified = new Set<string>();
const MAX_VERIFIED = 512;

async function cacheKey(user: ConfiguredUser, password: string): Promise<string> {
  const data = new TextEncoder().encode(`${user.hashText}\u0000${password}`);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", data));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

async function userPasswordMatches(user: ConfiguredUser, password: string): Promise<boolean> {
  const key = await cacheKey(user, password);
  if (verified.has(key)) return true;
  if (!(await verifyPassword(password, user.hash))) return false;
  if (verified.size >= MAX_VERIFIED) verified.clear();
  verified.add(key);
  return true;
}

export function userAccount(auth: AuthConfig, user: ConfiguredUser): Account {
  const identity = patternIdentity(SUBJECT_PREFIX.user + user.name, user.rules, { catalog: user.catalog, admin: user.admin });
  return { identity: withAnonymousPull(identity, auth.anonymousPull), secret: user.hashText };
}

function adminAccount(auth: AuthConfig, login: SharedSecretLogin): Account {
  const identity = globalIdentity(SUBJECT_PREFIX.admin + login.username, FULL, { catalog: true, admin: true });
  return { identity: withAnonymousPull(identity, auth.anonymousPull), secret: login.password };
}

function readonlyAccount(auth: AuthConfig, login: SharedSecretLogin): Account {
  const identity = globalIdentity(SUBJECT_PREFIX.readonly + login.username, ["pull"], { catalog: true });
  return { identity: withAnonymousPull(identity, auth.anonymousPull), secret: login.password };
}

export async function authenticatePassword(auth: AuthConfig, username: string, password: string): Promise<Account | null> {
  if (await sharedLoginMatches(auth.full, username, password)) return adminAccount(auth, auth.full!);
  if (await sharedLoginMatches(auth.readonly, username, password)) return readonlyAccount(auth, auth.readonly!);
  const user = auth.users.get(username);
  if (user && (await userPasswordMatches(user, password))) return userAccount(auth, user);
  if (auth.publicKey && password.split(".").length === 3) {
    const identity = await identityFromSignedToken(auth, username, password);
    if (!identity) return null;
    // A JWT identity's rights are the same on every repository; "x" stands for any of them.
    const actions = FULL.filter((a) => identity.allows("x", a));
    return { identity: withAnonymousPull(identity, auth.anonymousPull), secret: null, actions };
  }
  return null;
}

/** The account behind a subject, as configured now (for refresh tokens); null once gone. */
export function accountForSubject(auth: AuthConfig, subject: string): Account | null {
  if (auth.full && subject === SUBJECT_PREFIX.admin + auth.full.username) return adminAccount(auth, auth.full);
  if (auth.readonly && subject === SUBJECT_PREFIX.readonly + auth.readonly.username) return readonlyAccount(auth, auth.readonly);
  if (!subject.startsWith(SUBJECT_PREFIX.user)) return null;
  const user = auth.users.get(subject.slice(SUBJECT_PREFIX.user.length));
  return user ? userAccount(auth, user) : null;
}
