// Parses what users type: registry references (HOST/REPO:TAG@DIGEST, optional scheme) and the
// push sources (oci:DIR[:TAG], docker-archive:PATH, a .tar path, or an engine image name).
// Pure functions, tested in test/e2e/push-client-units.test.ts.

export interface RegistryRef {
  /** "host[:port]" as written, used for credentials lookup and state keys. */
  host: string;
  /** "http" when the ref or --plain-http says so, or for a loopback host; https otherwise. */
  scheme: "http" | "https";
  repo: string;
  tag: string | null;
  digest: string | null;
}

export type SourceSpec =
  | { kind: "oci"; dir: string; tag: string | null }
  | { kind: "archive"; path: string; tag: string | null }
  | { kind: "engine"; image: string }
  | { kind: "registry"; ref: RegistryRef };

const REPO_PART = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;
const DIGEST = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

export class UsageError extends Error {}

/** True when the first path segment names a registry host rather than a repository part. */
function looksLikeHost(segment: string): boolean {
  return segment.includes(".") || segment.includes(":") || segment === "localhost";
}

/** Parses "[http(s)://]HOST[:PORT]/REPO[:TAG][@DIGEST]". The host is required: this client
 *  talks to one named registry and never guesses Docker Hub. */
/** 127.0.0.0/8, localhost and [::1], with or without a port. */
function isLoopback(host: string): boolean {
  const name = host.replace(/:\d+$/, "");
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(name) || name === "localhost" || name === "[::1]";
}

export function parseRegistryRef(text: string, plainHttp = false): RegistryRef {
  let rest = text.trim();
  let scheme: "http" | "https" = plainHttp ? "http" : "https";
  let explicit = plainHttp;
  const schemeMatch = /^(https?):\/\//.exec(rest);
  if (schemeMatch) {
    scheme = schemeMatch[1] as "http" | "https";
    explicit = true;
    rest = rest.slice(schemeMatch[0].length);
  } else if (rest.startsWith("docker://")) {
    rest = rest.slice("docker://".length);
  }
  let digest: string | null = null;
  const at = rest.indexOf("@");
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw new UsageError(`invalid digest in reference: ${text}`);
  }
  const slash = rest.indexOf("/");
  const host = slash > 0 ? rest.slice(0, slash) : "";
  if (!host || !looksLikeHost(host))
    throw new UsageError(`reference needs a registry host, e.g. 127.0.0.1:8787/repo:tag (got ${text})`);
  let path = rest.slice(slash + 1);
  let tag: string | null = null;
  const colon = path.lastIndexOf(":");
  if (colon > path.lastIndexOf("/")) {
    tag = path.slice(colon + 1);
    path = path.slice(0, colon);
    if (!TAG.test(tag)) throw new UsageError(`invalid tag in reference: ${text}`);
  }
  if (!path?.split("/").every((part) => REPO_PART.test(part))) {
    throw new UsageError(`invalid repository name in reference: ${text}`);
  }
  // As docker does, a registry on this machine is talked to over plain HTTP unless https://
  // is written out (`npm start` serves http://127.0.0.1:8787).
  if (!explicit && isLoopback(host)) scheme = "http";
  return { host, scheme, repo: path, tag, digest };
}

export function formatRegistryRef(ref: RegistryRef): string {
  return `${ref.host}/${ref.repo}${ref.tag ? `:${ref.tag}` : ""}${ref.digest ? `@${ref.digest}` : ""}`;
}

/** The tag or digest a manifest is addressed by. */
export function manifestReference(ref: RegistryRef): string {
  return ref.digest ?? ref.tag ?? "latest";
}

/** Splits "PATH[:TAG]" where PATH may itself contain colons only before the last slash. */
function splitPathTag(text: string): { path: string; tag: string | null } {
  const colon = text.lastIndexOf(":");
  if (colon > text.lastIndexOf("/") && colon > 0) return { path: text.slice(0, colon), tag: text.slice(colon + 1) };
  return { path: text, tag: null };
}

/** Parses a push/copy source. `isFile` tells whether a bare argument exists as a file. */
export function parseSource(text: string, isFile: (path: string) => boolean, plainHttp = false): SourceSpec {
  if (text.startsWith("oci:")) {
    const { path, tag } = splitPathTag(text.slice(4));
    return { kind: "oci", dir: path, tag };
  }
  if (text.startsWith("docker-archive:")) {
    const { path, tag } = splitPathTag(text.slice("docker-archive:".length));
    return { kind: "archive", path, tag };
  }
  if (text.startsWith("docker-daemon:")) return { kind: "engine", image: text.slice("docker-daemon:".length) };
  if (/^(https?|docker):\/\//.test(text)) return { kind: "registry", ref: parseRegistryRef(text, plainHttp) };
  if (isFile(text)) return { kind: "archive", path: text, tag: null };
  return { kind: "engine", image: text };
}
