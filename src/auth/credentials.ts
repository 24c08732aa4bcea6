// Resolves a username and password to an Account under the configured modes, in this order:
// USERNAME/PASSWORD (pull, push, delete, catalog, admin), READONLY_USERNAME/READONLY_PASSWORD
// (pull, catalog), a user of AUTH_USERS_JSON (its patterns), and a JWT signed by the key in
// JWT_REGISTRY_TOKENS_PUBLIC_KEY used as the password (its capabilities). Also rebuilds the
// account behind a refresh token, with the binding that token must still match.
import type { AuthConfig, ConfiguredUser, SharedSecretLogin } from "../config/auth";
import { secretsEqual } from "./constant-time";
import { globalIdentity, patternIdentity, SUBJECT_PREFIX, withAnonymousPull } from "./identity";
import type { Identity } from "../registry/identity";
import type { Action } from "../config/auth";
import type { LoginThrottle } from "./login-throttle";
import { verifyPassword, type PasswordHash } from "../util/password-hash";
import { signedTokenIdentity, signingKeyThumbprint, verifySignedToken } from "./signed-password";

export interface Account {
  identity: Identity;
  /**
   * Everything the account's rights rest on: the password or its stored hash, the user's
   * rules and flags, or the JWT key's thumbprint and the JWT's actions. Refresh tokens carry
   * a keyed digest of it and are refused once it changes (docs/security.md). Null for
   * anonymous callers. Never logged or sent.
   */
  binding: string | null;
  /** For JWT passwords: the actions the JWT grants, carried by its refresh tokens. */
  actions?: Action[];
}

const FULL: Action[] = ["pull", "push", "delete"];

async function sharedLoginMatches(
  login: SharedSecretLogin | null,
  username: string,
  password: string,
): Promise<boolean> {
  if (!login) return false;
  const [u, p] = await Promise.all([secretsEqual(username, login.username), secretsEqual(password, login.password)]);
  return u && p;
}

/** PBKDF2 costs tens of milliseconds of CPU; clients that send Basic on every request would
 *  pay it each time. Successful checks are remembered per isolate under a SHA-256 of the
 *  stored hash and the password, so a changed hash or password misses the cache. */
const verified = new Set<string>();
/** Name and password pairs that signed in successfully in this isolate: they skip the
 *  login throttle (never the check itself), so Basic-on-every-request clients are not
 *  throttled. Only successes are added, so a guesser cannot grow it. */
const signedIn = new Set<string>();
const MAX_REMEMBERED = 512;

async function sha256Hex(text: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

function remember(set: Set<string>, key: string): void {
  if (set.size >= MAX_REMEMBERED) set.clear();
  set.add(key);
}

async function userPasswordMatches(user: ConfiguredUser, password: string): Promise<boolean> {
  const key = await sha256Hex(`${user.hashText}\u0000${password}`);
  if (verified.has(key)) return true;
  if (!(await verifyPassword(password, user.hash))) return false;
  remember(verified, key);
  return true;
}

/** A hash nobody's password matches, as costly as the dearest configured one: checking a name
 *  that is not a team user costs what checking a team user costs, so timing does not tell
 *  which names exist. One per configuration; null when there are no team users to hide. */
const dummies = new WeakMap<AuthConfig, PasswordHash>();

function dummyHash(auth: AuthConfig): PasswordHash | null {
  if (auth.users.size === 0) return null;
  let dummy = dummies.get(auth);
  if (!dummy) {
    const iterations = Math.max(...[...auth.users.values()].map((u) => u.hash.iterations));
    dummy = {
      iterations,
      salt: crypto.getRandomValues(new Uint8Array(16)),
      hash: crypto.getRandomValues(new Uint8Array(32)),
    };
    dummies.set(auth, dummy);
  }
  return dummy;
}

/** The user's rights in a canonical form, so that any change of them changes the binding. */
function userRights(user: ConfiguredUser): string {
  const rules = user.rules.map((r) => [r.pattern, [...r.actions].sort()]).sort((a, b) => (a[0]! < b[0]! ? -1 : 1));
  return JSON.stringify({ rules, catalog: user.catalog, admin: user.admin });
}

function userAccount(auth: AuthConfig, user: ConfiguredUser): Account {
  const identity = patternIdentity(SUBJECT_PREFIX.user + user.name, user.rules, {
    catalog: user.catalog,
    admin: user.admin,
  });
  return {
    identity: withAnonymousPull(identity, auth.anonymousPull),
    binding: `user\u0000${user.hashText}\u0000${userRights(user)}`,
  };
}

function adminAccount(auth: AuthConfig, login: SharedSecretLogin): Account {
  const identity = globalIdentity(SUBJECT_PREFIX.admin + login.username, FULL, { catalog: true, admin: true });
  return { identity: withAnonymousPull(identity, auth.anonymousPull), binding: `admin\u0000${login.password}` };
}

function readonlyAccount(auth: AuthConfig, login: SharedSecretLogin): Account {
  const identity = globalIdentity(SUBJECT_PREFIX.readonly + login.username, ["pull"], { catalog: true });
  return { identity: withAnonymousPull(identity, auth.anonymousPull), binding: `readonly\u0000${login.password}` };
}

/** A JWT password's binding: the verification key and the claims checks configured now, and
 *  the JWT's actions. Rotating JWT_REGISTRY_TOKENS_PUBLIC_KEY (or the audience or issuer)
 *  changes it, which revokes every refresh token obtained with a JWT password. */
async function jwtBinding(auth: AuthConfig, actions: readonly Action[]): Promise<string | null> {
  const thumbprint = await signingKeyThumbprint(auth);
  if (thumbprint === null) return null;
  return `jwt\u0000${thumbprint}\u0000${auth.audience ?? ""}\u0000${auth.issuer ?? ""}\u0000${actions.join(",")}`;
}

async function checkPassword(auth: AuthConfig, username: string, password: string): Promise<Account | null> {
  if (await sharedLoginMatches(auth.full, username, password)) return adminAccount(auth, auth.full!);
  if (await sharedLoginMatches(auth.readonly, username, password)) return readonlyAccount(auth, auth.readonly!);
  const user = auth.users.get(username);
  if (user && (await userPasswordMatches(user, password))) return userAccount(auth, user);
  const signed = await signedPasswordAccount(auth, username, password);
  if (signed) return signed;
  // A failed check costs the same whether the name is a team user or not. A valid JWT
  // password skips this: it needs no hiding, and would otherwise pay PBKDF2 on every request.
  const dummy = user ? null : dummyHash(auth);
  if (dummy) await verifyPassword(password, dummy);
  return null;
}

async function signedPasswordAccount(auth: AuthConfig, username: string, password: string): Promise<Account | null> {
  if (!auth.publicKey || password.split(".").length !== 3) return null;
  const claims = await verifySignedToken(auth, username, password);
  if (!claims) return null;
  const identity = withAnonymousPull(signedTokenIdentity(claims), auth.anonymousPull);
  return { identity, binding: await jwtBinding(auth, claims.actions), actions: claims.actions };
}

/** Checks a name and password. A pair that has not signed in on this isolate before first
 *  spends a login attempt (`throttle` throws 429 when over the limit), whether it turns out
 *  right or wrong: otherwise a guesser held back by 429s would still get in on the right
 *  guess. */
export async function authenticatePassword(
  auth: AuthConfig,
  username: string,
  password: string,
  throttle: LoginThrottle,
): Promise<Account | null> {
  const pair = await sha256Hex(`${username}\u0000${password}`);
  if (!signedIn.has(pair)) await throttle(username);
  const account = await checkPassword(auth, username, password);
  if (account) remember(signedIn, pair);
  return account;
}

/** The account behind a refresh token's subject, as configured now, with its current
 *  binding; null once the account is gone. `actions` are those a JWT password's refresh
 *  token carries. */
export async function accountForSubject(
  auth: AuthConfig,
  subject: string,
  actions: readonly string[] | undefined,
): Promise<Account | null> {
  if (auth.full && subject === SUBJECT_PREFIX.admin + auth.full.username) return adminAccount(auth, auth.full);
  if (auth.readonly && subject === SUBJECT_PREFIX.readonly + auth.readonly.username)
    return readonlyAccount(auth, auth.readonly);
  if (subject.startsWith(SUBJECT_PREFIX.user)) {
    const user = auth.users.get(subject.slice(SUBJECT_PREFIX.user.length));
    return user ? userAccount(auth, user) : null;
  }
  if (subject.startsWith(SUBJECT_PREFIX.jwt) && actions) {
    const granted = FULL.filter((a) => actions.includes(a));
    const binding = await jwtBinding(auth, granted);
    if (binding === null || granted.length === 0) return null;
    const identity = withAnonymousPull(
      signedTokenIdentity({ subject, actions: granted, expiresAt: undefined }),
      auth.anonymousPull,
    );
    return { identity, binding, actions: granted };
  }
  return null;
}
