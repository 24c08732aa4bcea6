// Parses an upstream's WWW-Authenticate challenge (RFC 7235; Docker token auth,
// distribution docs/spec/auth/token.md). Pure; it never throws.

export type Challenge =
  | { scheme: "basic" }
  | { scheme: "bearer"; realm: string; service: string | null; scope: string | null }
  | { scheme: "unknown" };

/** Reads `key="value"` and `key=token` pairs; quoted values may hold commas. */
function parseParams(text: string): Map<string, string> {
  const params = new Map<string, string>();
  const pair = /([A-Za-z][A-Za-z0-9_-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))/g;
  for (let match = pair.exec(text); match; match = pair.exec(text)) {
    const value = match[2] !== undefined ? match[2].replace(/\\(.)/g, "$1") : (match[3] ?? "");
    params.set(match[1]!.toLowerCase(), value);
  }
  return params;
}

export function parseChallenge(header: string | null): Challenge {
  if (!header) return { scheme: "unknown" };
  const match = /^\s*([A-Za-z]+)(?:\s+(.*))?$/s.exec(header);
  if (!match) return { scheme: "unknown" };
  const scheme = match[1]!.toLowerCase();
  if (scheme === "basic") return { scheme: "basic" };
  if (scheme !== "bearer") return { scheme: "unknown" };
  const params = parseParams(match[2] ?? "");
  const realm = params.get("realm");
  if (!realm || !/^https?:\/\//i.test(realm)) return { scheme: "unknown" };
  return { scheme: "bearer", realm, service: params.get("service") ?? null, scope: params.get("scope") ?? null };
}

export interface TokenGrant {
  token: string;
  /** Epoch milliseconds after which the token must not be used. */
  expiresAt: number;
}

/** Default lifetime when the token server names none (token.md: 60 seconds). */
const DEFAULT_EXPIRES_IN = 60;

/** Reads a token endpoint's JSON answer; null when it holds no token. */
export function parseTokenResponse(body: unknown, now: number): TokenGrant | null {
  if (typeof body !== "object" || body === null) return null;
  const b = body as Record<string, unknown>;
  const token =
    typeof b.token === "string" && b.token !== "" ? b.token : typeof b.access_token === "string" ? b.access_token : "";
  if (token === "") return null;
  const expiresIn = typeof b.expires_in === "number" && b.expires_in > 0 ? b.expires_in : DEFAULT_EXPIRES_IN;
  const issued = typeof b.issued_at === "string" ? Date.parse(b.issued_at) : NaN;
  // A server clock far from ours would make issued_at misleading; trust it only when close.
  const start = Number.isFinite(issued) && Math.abs(issued - now) < 5 * 60_000 ? issued : now;
  return { token, expiresAt: start + expiresIn * 1000 };
}
