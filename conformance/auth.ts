// Credentials for the conformance runner: Basic credentials, or a Docker token obtained by
// following a `WWW-Authenticate: Bearer realm=...,service=...` challenge
// (distribution/distribution docs/spec/auth/token.md). Tokens are cached per scope.

export interface Credentials {
  username?: string;
  password?: string;
}

export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/** Parses one challenge: `Bearer realm="https://x/token",service="reg",scope="a b"`. */
export function parseChallenge(header: string | null): Challenge | null {
  if (!header) return null;
  const match = /^\s*([A-Za-z]+)\s*(.*)$/.exec(header);
  if (!match) return null;
  const params: Record<string, string> = {};
  // key=value or key="quoted, value" pairs separated by commas.
  const pair = /([A-Za-z_][A-Za-z0-9_-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g;
  for (const m of match[2]!.matchAll(pair))
    params[m[1]!.toLowerCase()] = m[2] !== undefined ? m[2].replace(/\\(.)/g, "$1") : m[3]!;
  return { scheme: match[1]!.toLowerCase(), params };
}

/** The token scopes a request needs, read from its path and query (token.md "scope"). */
export function scopesFor(method: string, url: URL, extra: string[] = []): string[] {
  if (url.pathname === "/v2/_catalog") return ["registry:catalog:*", ...extra];
  const match = /^\/v2\/(.+?)\/(blobs|manifests|tags|referrers)\//.exec(url.pathname);
  if (!match) return [];
  const actions = method === "DELETE" ? "pull,push,delete" : "pull,push";
  const scopes = [`repository:${match[1]}:${actions}`];
  const from = url.searchParams.get("from");
  if (from) scopes.push(`repository:${from}:pull`);
  return [...scopes, ...extra];
}

function basicHeader(credentials: Credentials): string | null {
  if (credentials.username === undefined || credentials.password === undefined) return null;
  return `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString("base64")}`;
}

/** Chooses the Authorization header for each request and learns from 401 challenges. */
export class Authenticator {
  private mode: "none" | "basic" | "bearer" = "none";
  private readonly tokens = new Map<string, string>();
  private bearer: Challenge | null = null;

  constructor(private readonly credentials: Credentials) {}

  /** The header to send before any challenge is known: none, or what worked before. */
  async headerFor(method: string, url: URL, extraScopes: string[] = []): Promise<string | null> {
    if (this.mode === "basic") return basicHeader(this.credentials);
    if (this.mode === "bearer") return `Bearer ${await this.token(scopesFor(method, url, extraScopes))}`;
    return null;
  }

  /** Learns from a 401 and returns the header to retry with, or null when a retry is pointless. */
  async answer(
    challengeHeader: string | null,
    method: string,
    url: URL,
    sent: string | null,
    extraScopes: string[] = [],
  ): Promise<string | null> {
    const challenge = parseChallenge(challengeHeader);
    if (!challenge) return null;
    if (challenge.scheme === "basic") {
      const basic = basicHeader(this.credentials);
      if (!basic || sent === basic) return null;
      this.mode = "basic";
      return basic;
    }
    if (challenge.scheme !== "bearer" || !challenge.params.realm) return null;
    this.mode = "bearer";
    this.bearer = challenge;
    const scopes = challenge.params.scope ? challenge.params.scope.split(" ") : scopesFor(method, url, extraScopes);
    const key = scopes.join(" ");
    // A token that was just refused is fetched again once; a second refusal is final.
    if (sent !== null && sent === `Bearer ${this.tokens.get(key)}`) this.tokens.delete(key);
    const header = `Bearer ${await this.token(scopes)}`;
    return header === sent ? null : header;
  }

  private async token(scopes: string[]): Promise<string> {
    const key = scopes.join(" ");
    const cached = this.tokens.get(key);
    if (cached) return cached;
    if (!this.bearer) throw new Error("no Bearer challenge seen yet");
    const realm = new URL(this.bearer.params.realm!);
    if (this.bearer.params.service) realm.searchParams.set("service", this.bearer.params.service);
    for (const scope of scopes) realm.searchParams.append("scope", scope);
    const headers: Record<string, string> = {};
    const basic = basicHeader(this.credentials);
    if (basic) headers.Authorization = basic;
    const response = await fetch(realm, { headers });
    const text = await response.text();
    if (response.status !== 200)
      throw new Error(`token endpoint ${realm} answered ${response.status}: ${text.slice(0, 300)}`);
    const body = JSON.parse(text) as { token?: string; access_token?: string };
    const token = body.token ?? body.access_token;
    if (!token) throw new Error(`token endpoint ${realm} returned no token`);
    this.tokens.set(key, token);
    return token;
  }
}
