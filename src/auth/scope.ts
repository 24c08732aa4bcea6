// The Docker token scope grammar (distribution docs/spec/auth/scope.md) and the `access`
// claim it becomes. Pure and total: parsing never throws; malformed scopes are dropped.
//   scope         := resourcescope [ ' ' resourcescope ]*
//   resourcescope := resourcetype ":" resourcename ":" action [ ',' action ]*
// A resource name may itself hold a colon (a "host:port/" prefix), so the type ends at the
// first colon and the actions start after the last one.
import { isValidName } from "../oci/reference";
import type { Identity } from "../registry/identity";
import type { Action } from "../config/auth";

export interface AccessEntry {
  type: string;
  name: string;
  actions: string[];
}

const REPOSITORY_ACTIONS: readonly Action[] = ["pull", "push", "delete"];
export const CATALOG_SCOPE: AccessEntry = { type: "registry", name: "catalog", actions: ["*"] };
/** The administrative right (garbage collection) in token terms; granted only to admins. */
export const ADMIN_SCOPE: AccessEntry = { type: "registry", name: "admin", actions: ["*"] };

function isRegistryScope(entry: AccessEntry, wanted: AccessEntry): boolean {
  return entry.type === wanted.type && entry.name === wanted.name && entry.actions.includes("*");
}
/**
 * Most scopes one token request may name (400 above). It bounds the work and the token's
 * size: a repository scope claim takes at most about 320 bytes (a 255-character name and all
 * three actions), so 32 of them with the other claims stay under 10 KB of JSON, 13.3 KB once
 * base64url-encoded and signed (measured in test/auth-hardening.test.ts): under MAX_BEARER_TOKEN_LENGTH, so every token issued is one
 * the verifier accepts. The token endpoint also checks the signed length.
 */
export const MAX_SCOPES = 32;
/** Longest Bearer token the verifier reads (bearer.ts). */
export const MAX_BEARER_TOKEN_LENGTH = 16_384;

/** How many resource scopes the request names (space-separated within each value). */
export function countScopes(values: readonly string[]): number {
  let count = 0;
  for (const value of values) for (const part of value.split(" ")) if (part !== "") count++;
  return count;
}

const TYPE_RE = /^[a-z0-9]+(\([a-z0-9]+\))?$/;
const ACTION_RE = /^([a-z]+|\*)$/;

export function parseResourceScope(text: string): AccessEntry | null {
  const first = text.indexOf(":");
  const last = text.lastIndexOf(":");
  if (first < 0 || last === first) return null;
  const type = text.slice(0, first);
  const name = text.slice(first + 1, last);
  const actions = text.slice(last + 1).split(",");
  if (!TYPE_RE.test(type) || name === "" || name.length > 512 || actions.some((a) => !ACTION_RE.test(a))) return null;
  return { type, name, actions: [...new Set(actions)] };
}

/** Parses every scope in the given strings (each may hold several, space-separated). */
export function parseScopes(values: readonly string[]): AccessEntry[] {
  const out: AccessEntry[] = [];
  for (const value of values) {
    for (const part of value.split(" ")) {
      if (part === "" || out.length >= MAX_SCOPES) continue;
      const entry = parseResourceScope(part);
      if (entry) out.push(entry);
    }
  }
  return out;
}

export function formatScope(entry: AccessEntry): string {
  return `${entry.type}:${entry.name}:${entry.actions.join(",")}`;
}

/** The scope a client needs for `action` on `repo`; push asks for pull too, as docker does. */
export function repositoryScope(repo: string, action: Action): string {
  return `repository:${repo}:${action === "push" ? "pull,push" : action}`;
}

function grantRepository(identity: Identity, entry: AccessEntry): AccessEntry | null {
  if (!isValidName(entry.name)) return null;
  const wanted = entry.actions.includes("*")
    ? REPOSITORY_ACTIONS
    : REPOSITORY_ACTIONS.filter((a) => entry.actions.includes(a));
  const actions = wanted.filter((a) => identity.allows(entry.name, a));
  return actions.length > 0 ? { type: "repository", name: entry.name, actions } : null;
}

/** The granted access: each requested scope cut down to what `identity` may do. Unknown
 *  resource types and actions are dropped; repeated repositories are merged. */
export function grantScopes(identity: Identity, requested: readonly AccessEntry[]): AccessEntry[] {
  const byRepo = new Map<string, Set<string>>();
  let catalog = false;
  let admin = false;
  for (const entry of requested) {
    if (isRegistryScope(entry, CATALOG_SCOPE)) catalog ||= identity.catalog;
    if (isRegistryScope(entry, ADMIN_SCOPE)) admin ||= identity.admin;
    if (entry.type !== "repository") continue;
    const granted = grantRepository(identity, entry);
    if (!granted) continue;
    const set = byRepo.get(granted.name) ?? new Set<string>();
    for (const a of granted.actions) set.add(a);
    byRepo.set(granted.name, set);
  }
  const out: AccessEntry[] = [...byRepo].map(([name, set]) => ({
    type: "repository",
    name,
    actions: REPOSITORY_ACTIONS.filter((a) => set.has(a)),
  }));
  if (catalog) out.push(CATALOG_SCOPE);
  if (admin) out.push(ADMIN_SCOPE);
  return out;
}

/** Whether a granted access list holds the registry-wide `wanted` scope. */
export function grantsRegistryScope(access: readonly AccessEntry[], wanted: AccessEntry): boolean {
  return access.some((entry) => isRegistryScope(entry, wanted));
}

/** Reads an `access` claim back, keeping only well-formed entries. */
export function readAccessClaim(claim: unknown): AccessEntry[] {
  if (!Array.isArray(claim)) return [];
  const out: AccessEntry[] = [];
  for (const item of claim.slice(0, MAX_SCOPES)) {
    if (typeof item !== "object" || item === null) continue;
    const { type, name, actions } = item as Record<string, unknown>;
    if (typeof type !== "string" || typeof name !== "string" || !Array.isArray(actions)) continue;
    out.push({ type, name, actions: actions.filter((a): a is string => typeof a === "string") });
  }
  return out;
}
