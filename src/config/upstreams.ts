// Pull-through configuration: REGISTRIES_JSON parsed into upstreams, and the mapping from a
// local repository name to the upstreams that may hold it. Called by parseConfig only, which
// hands over the variables, so no other module reads Env.
import { configurationError } from "../errors";
import { parseJsonList } from "./json-list";

/** A repository's upstreams are tried in order on a miss; a list this long is a mistake. */
const MAX_UPSTREAMS = 50;

export interface Upstream {
  /** Base URL without a trailing slash, e.g. "https://registry-1.docker.io". */
  url: string;
  /** Local name prefix this upstream serves ("docker.io"), or null for every name. */
  prefix: string | null;
  username: string | null;
  password: string | null;
  /** Docker Hub keeps official images under "library/": single-segment names get it. */
  libraryPrefix: boolean;
  /** Clients may push to (and delete from) repositories mirrored from this upstream. */
  allowPush: boolean;
}

export interface ProxyConfig {
  upstreams: Upstream[];
  /** How long a cached tag is served before it is revalidated upstream. */
  tagTtlSeconds: number;
}

interface RawEntry {
  registry?: unknown;
  username?: unknown;
  password_env?: unknown;
  prefix?: unknown;
  library_prefix?: unknown;
  allow_push?: unknown;
}

function fail(detail: string): never {
  throw configurationError(`REGISTRIES_JSON ${detail}`);
}

function optionalString(value: unknown, field: string, index: number): string | null {
  if (value === undefined || value === null || value === "") return null;
  if (typeof value !== "string") fail(`entry ${index}: ${field} must be a string`);
  return value;
}

function parseUpstreamUrl(value: unknown, index: number): string {
  if (typeof value !== "string") fail(`entry ${index}: registry must be a URL`);
  // The design we replace accepted bare hosts ("ghcr.io"); they mean https.
  const withScheme = /^https?:\/\//.test(value) ? value : `https://${value}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    fail(`entry ${index}: registry is not a URL: ${value}`);
  }
  // Docker Hub's API lives on registry-1, not on the docker.io web host.
  if (url.host === "docker.io" || url.host === "index.docker.io") url.host = "registry-1.docker.io";
  return `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, "").replace(/\/v2$/, "")}`;
}

function parseEntry(raw: RawEntry, index: number, secrets: Record<string, unknown>): Upstream {
  if (typeof raw !== "object" || raw === null) fail(`entry ${index} must be an object`);
  const url = parseUpstreamUrl(raw.registry, index);
  const prefix = optionalString(raw.prefix, "prefix", index)?.replace(/\/+$/, "") ?? null;
  const username = optionalString(raw.username, "username", index);
  const passwordEnv = optionalString(raw.password_env, "password_env", index);
  let password: string | null = null;
  if (passwordEnv !== null) {
    const secret = secrets[passwordEnv];
    if (typeof secret !== "string" || secret === "")
      fail(`entry ${index}: secret ${passwordEnv} (password_env) is not set`);
    password = secret;
  }
  const isDockerHub = url.endsWith("//registry-1.docker.io") || prefix === "docker.io";
  return {
    url,
    prefix,
    username,
    password,
    libraryPrefix: typeof raw.library_prefix === "boolean" ? raw.library_prefix : isDockerHub,
    allowPush: raw.allow_push === true,
  };
}

/** Parses REGISTRIES_JSON; `secrets` is the Env, read only for the names password_env gives. */
export function parseProxyConfig(json: string | undefined, ttl: number, secrets: Record<string, unknown>): ProxyConfig {
  const entries = parseJsonList("REGISTRIES_JSON", json, MAX_UPSTREAMS);
  return { upstreams: entries.map((e, i) => parseEntry(e as RawEntry, i, secrets)), tagTtlSeconds: ttl };
}

export interface UpstreamRoute {
  upstream: Upstream;
  /** The repository's name on the upstream. */
  remoteName: string;
}

/**
 * The upstreams to try for a local repository, in order. Entries whose prefix matches win
 * over entries without a prefix, so "docker.io/x" never goes to a catch-all upstream.
 */
export function routesFor(config: ProxyConfig, repo: string): UpstreamRoute[] {
  const prefixed = config.upstreams.filter((u) => u.prefix !== null && repo.startsWith(`${u.prefix}/`));
  const chosen = prefixed.length > 0 ? prefixed : config.upstreams.filter((u) => u.prefix === null);
  return chosen.map((upstream) => {
    let remoteName = upstream.prefix === null ? repo : repo.slice(upstream.prefix.length + 1);
    if (upstream.libraryPrefix && !remoteName.includes("/")) remoteName = `library/${remoteName}`;
    return { upstream, remoteName };
  });
}

/** An upstream as clients see it named: by its prefix, never its address, which may be an
 *  internal host. The log keeps the address. */
export function upstreamName(upstream: Upstream): string {
  return upstream.prefix === null ? "for every name" : `"${upstream.prefix}"`;
}

/** Mirrored repositories are read-only unless every upstream that serves them allows push. */
export function isReadOnlyMirror(config: ProxyConfig, repo: string): boolean {
  const routes = routesFor(config, repo);
  return routes.length > 0 && routes.some((r) => !r.upstream.allowPush);
}
