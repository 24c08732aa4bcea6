// The auth part of parseConfig: credential modes, the users configuration, anonymous pull,
// token lifetimes and CORS origins. Called only from parseConfig (src/config/config.ts), once per
// env object. Errors name the variable and the user, never a secret.
import { configurationError } from "../errors";
import { parsePasswordHash, type PasswordHash } from "../util/password-hash";
import { isValidPattern, matchesAny, parsePatternList } from "./repository-pattern";
import { readInteger } from "./variables";

/** What a right lets a caller do in a repository. */
export type Action = "pull" | "push" | "delete";

/** Whether ANONYMOUS_PULL lets anyone pull `repo`: the one reading of that variable, for the
 *  anonymous identity (auth/identity.ts) and for what caches may share (registry/blobs.ts). */
export function isAnonymouslyPullable(auth: { anonymousPull: readonly string[] }, repo: string): boolean {
  return matchesAny(auth.anonymousPull, repo);
}

export interface RepositoryRule {
  pattern: string;
  actions: ReadonlySet<Action>;
}

export interface ConfiguredUser {
  name: string;
  /** The stored hash text; refresh tokens carry a keyed digest of it, so changing a password
   *  revokes that user's refresh tokens. */
  hashText: string;
  hash: PasswordHash;
  rules: RepositoryRule[];
  catalog: boolean;
  /** May run the garbage collector and read its reports (docs/security.md). */
  admin: boolean;
}

export interface SharedSecretLogin {
  username: string;
  password: string;
}

export interface AuthConfig {
  full: SharedSecretLogin | null;
  readonly: SharedSecretLogin | null;
  publicKey: string | null;
  audience: string | null;
  issuer: string | null;
  users: ReadonlyMap<string, ConfiguredUser>;
  anonymousPull: string[];
  /** Any way in at all; false means every request is refused. */
  configured: boolean;
  /** Key material for registry-issued tokens (HKDF of JWT_STATE_SECRET); null disables them. */
  tokenSecret: string | null;
  challenge: "bearer" | "basic";
  tokenTtlSeconds: number;
  refreshTtlSeconds: number;
  corsOrigins: string[];
}

const ACTIONS: readonly Action[] = ["pull", "push", "delete"];
const USER_NAME_RE = /^[A-Za-z0-9._@+-]{1,128}$/;

function fail(message: string): never {
  throw configurationError(message);
}

function parseRules(user: string, access: unknown): RepositoryRule[] {
  if (access === undefined) return [];
  if (typeof access !== "object" || access === null || Array.isArray(access))
    fail(`AUTH_USERS_JSON: "access" of ${user} must map patterns to action lists`);
  return Object.entries(access).map(([pattern, actions]) => {
    if (!isValidPattern(pattern)) fail(`AUTH_USERS_JSON: invalid repository pattern for ${user}`);
    if (!Array.isArray(actions) || actions.some((a) => !ACTIONS.includes(a)))
      fail(`AUTH_USERS_JSON: actions of ${user} must be pull, push or delete`);
    return { pattern, actions: new Set(actions as Action[]) };
  });
}

function parseUser(name: string, entry: unknown): ConfiguredUser {
  if (!USER_NAME_RE.test(name)) fail("AUTH_USERS_JSON: user names are 1-128 of A-Z a-z 0-9 . _ @ + -");
  if (typeof entry !== "object" || entry === null) fail(`AUTH_USERS_JSON: ${name} must be an object`);
  const { password, access, catalog, admin } = entry as Record<string, unknown>;
  const hash = typeof password === "string" ? parsePasswordHash(password) : null;
  if (!hash) fail(`AUTH_USERS_JSON: password of ${name} must be a pbkdf2-sha256 hash (npm run hash-password)`);
  if (catalog !== undefined && typeof catalog !== "boolean")
    fail(`AUTH_USERS_JSON: catalog of ${name} must be true or false`);
  if (admin !== undefined && typeof admin !== "boolean")
    fail(`AUTH_USERS_JSON: admin of ${name} must be true or false`);
  return {
    name,
    hashText: password as string,
    hash,
    rules: parseRules(name, access),
    catalog: catalog === true,
    admin: admin === true,
  };
}

function parseUsers(raw: string | undefined): Map<string, ConfiguredUser> {
  const users = new Map<string, ConfiguredUser>();
  if (!raw || raw.trim() === "") return users;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    fail("AUTH_USERS_JSON is not valid JSON");
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
    fail("AUTH_USERS_JSON must be an object keyed by user name");
  for (const [name, entry] of Object.entries(parsed)) users.set(name, parseUser(name, entry));
  return users;
}

function login(username: string | undefined, password: string | undefined): SharedSecretLogin | null {
  return username && password ? { username, password } : null;
}

export function parseAuthConfig(env: Env): AuthConfig {
  const anonymous = parsePatternList(env.ANONYMOUS_PULL);
  if (anonymous.invalid.length > 0) fail("ANONYMOUS_PULL holds an invalid repository pattern");
  const users = parseUsers(env.AUTH_USERS_JSON);
  const full = login(env.USERNAME, env.PASSWORD);
  const readonly = login(env.READONLY_USERNAME, env.READONLY_PASSWORD);
  const publicKey = env.JWT_REGISTRY_TOKENS_PUBLIC_KEY || null;
  const challenge = env.AUTH_CHALLENGE === "basic" ? "basic" : "bearer";
  if (env.AUTH_CHALLENGE && env.AUTH_CHALLENGE !== "basic" && env.AUTH_CHALLENGE !== "bearer")
    fail("AUTH_CHALLENGE must be bearer or basic");
  return {
    full,
    readonly,
    publicKey,
    audience: env.JWT_REGISTRY_TOKENS_AUDIENCE || null,
    issuer: env.JWT_REGISTRY_TOKENS_ISSUER || null,
    users,
    anonymousPull: anonymous.patterns,
    configured: Boolean(full || readonly || publicKey || users.size > 0 || anonymous.patterns.length > 0),
    tokenSecret: env.JWT_STATE_SECRET || null,
    challenge,
    tokenTtlSeconds: readInteger(env, "AUTH_TOKEN_TTL_SECONDS", 300, 60, 3600),
    refreshTtlSeconds: readInteger(env, "AUTH_REFRESH_TOKEN_TTL_SECONDS", 30 * 24 * 3600, 0, 365 * 24 * 3600),
    corsOrigins: (env.CORS_ALLOWED_ORIGINS ?? "").split(/[\s,]+/).filter((s) => s !== ""),
  };
}
