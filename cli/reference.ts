// Parses what users type: registry references (HOST/REPO:TAG@DIGEST, optional scheme) and the
// push sources (oci:DIR[:TAG], docker-archive:PATH, a .tar path, or an engine image name).
// Pure functions, tested in test/e2e/push-client-units.test.ts.
import { CliError } from "./errors.js";

export interface RegistryRef {
  /** "host[:port]" as written, used for credentials lookup and state keys. */
  host: string;
  /** What is tried first: "http" when the ref or --plain-http says so; https otherwise. */
  scheme: "http" | "https";
  /** A loopback host with no scheme written: https is tried first and, if the server does
   *  not speak TLS, plain HTTP, as docker does for registries on this machine. */
  plainHttpFallback: boolean;
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

/** 127.0.0.0/8, localhost and [::1], with or without a port. */
export function isLoopback(host: string): boolean {
  const name = host.replace(/:\d+$/, "");
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(name) || name === "localhost" || name === "[::1]";
}

/** Parses "[http(s)://]HOST[:PORT]/REPO[:TAG][@DIGEST]". The host is required: this client
 *  talks to one named registry and never guesses Docker Hub. */
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
  // `npm start` serves http://127.0.0.1:8787, and `npm start -- --https` a self-signed https.
  const plainHttpFallback = !explicit && isLoopback(host);
  return { host, scheme, plainHttpFallback, repo: path, tag, digest };
}

export function formatRegistryRef(ref: RegistryRef): string {
  return `${ref.host}/${ref.repo}${ref.tag ? `:${ref.tag}` : ""}${ref.digest ? `@${ref.digest}` : ""}`;
}

/** The tag or digest a manifest is addressed by. */
export function manifestReference(ref: RegistryRef): string {
  return ref.digest ?? ref.tag ?? "latest";
}

/** The tag a push writes: the one written; none for REPO@DIGEST; else `latest`, as docker
 *  does. An untagged push would be freed by the collector (GC_UNTAGGED defaults to true). */
export function pushTag(ref: RegistryRef): string | null {
  return ref.tag ?? (ref.digest ? null : "latest");
}

/** Splits "PATH[:TAG]" where PATH may itself contain colons only before the last slash. */
function splitPathTag(text: string): { path: string; tag: string | null } {
  const colon = text.lastIndexOf(":");
  if (colon > text.lastIndexOf("/") && colon > 0) return { path: text.slice(0, colon), tag: text.slice(colon + 1) };
  return { path: text, tag: null };
}

/** What is at a path on disk, as the caller's file system says. */
export type PathKind = "file" | "directory" | null;

/** Written as a path (not an image name): image references never start with "/", "." or "~",
 *  and none that ends in a tar suffix is worth handing to an engine. */
function looksLikePath(text: string): boolean {
  return /^(\/|\.\.?\/|~\/)/.test(text) || /\.(tar|tar\.gz|tgz)$/i.test(text);
}

function missing(path: string, what: string): CliError {
  return new CliError(`${path}: no such ${what}`, "check the path (relative paths start from the current directory)");
}

/** Parses a push/copy source. `pathKind` tells what a path names on disk, so a mistyped path
 *  is reported as missing instead of being handed to the engine as an image name. */
export function parseSource(text: string, pathKind: (path: string) => PathKind, plainHttp = false): SourceSpec {
  if (text.startsWith("oci:")) {
    const { path, tag } = splitPathTag(text.slice(4));
    if (pathKind(path) !== "directory") throw missing(path, "directory");
    return { kind: "oci", dir: path, tag };
  }
  if (text.startsWith("docker-archive:")) {
    const { path, tag } = splitPathTag(text.slice("docker-archive:".length));
    if (pathKind(path) !== "file") throw missing(path, "file");
    return { kind: "archive", path, tag };
  }
  if (text.startsWith("docker-daemon:")) return { kind: "engine", image: text.slice("docker-daemon:".length) };
  if (/^(https?|docker):\/\//.test(text)) return { kind: "registry", ref: parseRegistryRef(text, plainHttp) };
  const kind = pathKind(text);
  if (kind === "file") return { kind: "archive", path: text, tag: null };
  if (kind === "directory")
    throw new CliError(`${text} is a directory`, `for an OCI image layout write oci:${text}[:TAG]`);
  if (looksLikePath(text)) throw missing(text, "file");
  return { kind: "engine", image: text };
}
