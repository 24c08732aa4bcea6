// Talks to one repository of one registry: authentication (Basic and Bearer challenges, as
// docker follows them), and the distribution-spec endpoints the push, pull and copy commands
// use. Every non-success status becomes a CliError with a hint.
import type { Readable } from "node:stream";
import { mergeScopes, parseChallenges, tokenUrl, type Challenge } from "./auth-challenge.js";
import type { Credentials } from "./credentials.js";
import { CliError } from "./errors.js";
import { sendRequest, TlsHandshakeFailed, type HttpRequest, type HttpResponse } from "./http.js";
import type { RegistryRef } from "./reference.js";

export interface ClientOptions {
  insecure: boolean;
  /** See HttpOptions.idleTimeoutMs (--timeout). */
  idleTimeoutMs: number;
  credentials: Credentials | null;
  /** Actions this client needs on its repository: ["pull"] or ["pull", "push"]. */
  actions: string[];
  /** Other repositories read from (--mount-from), for Bearer scopes. */
  pullFrom?: string[];
}

/** Mount sources named in one token request: each adds a scope to the token's URL, and a
 *  blob whose source is beyond them is mounted without the scope or, if refused, uploaded. */
const MAX_PULL_SCOPES = 10;
/** The answers that send a GET elsewhere (RFC 9110 §15.4), and how many hops are followed. */
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 5;

/** docker's two token flows: GET with Basic credentials, or, with the refresh token that
 *  `docker login` may store, an OAuth2 POST (grant_type=refresh_token). */
function tokenRequest(challenge: Challenge, scopes: string[], creds: Credentials | null): HttpRequest {
  if (creds?.identityToken) {
    const form = new URLSearchParams({
      grant_type: "refresh_token",
      refresh_token: creds.identityToken,
      client_id: "r2-registry",
      service: challenge.params.service ?? "",
    });
    form.set("scope", scopes.join(" "));
    const body = Buffer.from(form.toString());
    return {
      method: "POST",
      url: challenge.params.realm!,
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: () => body,
    };
  }
  const headers: Record<string, string> = {};
  if (creds) headers.Authorization = `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString("base64")}`;
  return { method: "GET", url: tokenUrl(challenge, scopes, creds?.username ?? null), headers };
}

/** How long a loopback registry may take to answer a TLS ClientHello before it is taken for
 *  a plain-HTTP one: local servers answer in milliseconds, but a server that ignores the
 *  ClientHello (wrangler dev over http) would otherwise stall every command. */
const TLS_PROBE_TIMEOUT_MS = 3000;

/** Per host, the scheme a loopback registry answered on, shared by every client of one run. */
const probedSchemes = new Map<string, Promise<"http" | "https">>();

/** docker's rule for registries on this machine: https first, plain HTTP if the server does
 *  not complete a TLS handshake. Other failures (nothing listening) are the user's to see. */
function probeScheme(host: string): Promise<"http" | "https"> {
  let probe = probedSchemes.get(host);
  if (!probe) {
    probe = sendRequest(
      { method: "GET", url: `https://${host}/v2/` },
      { insecure: true, handshakeTimeoutMs: TLS_PROBE_TIMEOUT_MS, freshConnection: true },
    ).then(
      async (response) => {
        await response.drain();
        return "https" as const;
      },
      (error: unknown) => {
        if (error instanceof TlsHandshakeFailed) return "http" as const;
        throw error;
      },
    );
    probedSchemes.set(host, probe);
  }
  return probe;
}

export class RegistryClient {
  private authorization: string | null = null;
  private readonly pullFrom: Set<string>;
  private scheme: Promise<"http" | "https"> | null = null;
  base: string;

  constructor(
    readonly ref: Pick<RegistryRef, "host" | "scheme" | "repo" | "plainHttpFallback">,
    private readonly options: ClientOptions,
  ) {
    this.base = `${ref.scheme}://${ref.host}`;
    this.pullFrom = new Set(options.pullFrom ?? []);
  }

  /** Adds mount sources to the token's scopes; a token fetched without them is dropped, so
   *  the next challenge asks for one that names them. */
  allowPullFrom(repos: string[]): void {
    const before = this.pullFrom.size;
    for (const repo of repos) {
      if (this.pullFrom.size >= MAX_PULL_SCOPES) break;
      if (repo !== this.repo) this.pullFrom.add(repo);
    }
    if (this.pullFrom.size > before && this.authorization?.startsWith("Bearer ")) this.authorization = null;
  }

  /** Settles the scheme before the first request (loopback registries only). */
  private async ready(): Promise<void> {
    if (!this.ref.plainHttpFallback) return;
    this.scheme ??= probeScheme(this.ref.host);
    this.base = `${await this.scheme}://${this.ref.host}`;
  }

  get repo(): string {
    return this.ref.repo;
  }

  /** An absolute URL for a path or a Location header (which may be relative). */
  resolve(pathOrUrl: string): string {
    return new URL(pathOrUrl, this.base).toString();
  }

  /** Sends a request, answering one 401 challenge and retrying once. */
  async request(request: HttpRequest): Promise<HttpResponse> {
    const first = await this.send(request);
    if (first.status !== 401) return first;
    await first.drain();
    const hadAuth = this.authorization !== null;
    await this.answerChallenge(first.header("www-authenticate"), hadAuth);
    const second = await this.send(request);
    if (second.status === 401) {
      await second.drain();
      throw this.refused();
    }
    return second;
  }

  private async send(request: HttpRequest): Promise<HttpResponse> {
    await this.ready();
    const headers = { ...request.headers };
    if (this.authorization) headers.Authorization = this.authorization;
    return sendRequest(
      { ...request, url: this.resolve(request.url), headers },
      { insecure: this.options.insecure, idleTimeoutMs: this.options.idleTimeoutMs },
    );
  }

  private refused(): CliError {
    const creds = this.options.credentials;
    if (!creds) {
      return new CliError(
        `${this.ref.host} requires authentication`,
        "pass --username/--password, set R2_REGISTRY_USERNAME/R2_REGISTRY_PASSWORD, or run `docker login " +
          this.ref.host +
          "`",
        401,
      );
    }
    return new CliError(
      `${this.ref.host} refused the credentials of ${creds.username} (from ${creds.origin})`,
      `check the password, or that ${creds.username} may ${this.options.actions.join(" and ")} ${this.repo}`,
      401,
    );
  }

  private async answerChallenge(header: string | null, hadAuth: boolean): Promise<void> {
    const challenges = parseChallenges(header);
    const bearer = challenges.find((c) => c.scheme === "bearer");
    const basic = challenges.find((c) => c.scheme === "basic");
    const creds = this.options.credentials;
    if (bearer) {
      this.authorization = `Bearer ${await this.fetchToken(bearer)}`;
      return;
    }
    if (basic || challenges.length === 0) {
      if (!creds || (hadAuth && this.authorization?.startsWith("Basic "))) throw this.refused();
      this.authorization = `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString("base64")}`;
      return;
    }
    throw new CliError(`${this.ref.host} asks for unsupported authentication: ${header}`);
  }

  /** Docker's token flow: GET realm?service=&scope=, with Basic credentials when we have them. */
  private async fetchToken(challenge: Challenge): Promise<string> {
    const creds = this.options.credentials;
    const needed = [
      `repository:${this.repo}:${this.options.actions.join(",")}`,
      ...[...this.pullFrom].map((r) => `repository:${r}:pull`),
    ];
    const scopes = mergeScopes(challenge.params.scope, needed);
    const response = await sendRequest(tokenRequest(challenge, scopes, creds), {
      insecure: this.options.insecure,
      idleTimeoutMs: this.options.idleTimeoutMs,
    });
    if (response.status === 401 || response.status === 403) {
      await response.drain();
      throw this.refused();
    }
    const url = challenge.params.realm!;
    if (response.status !== 200)
      throw new CliError(
        `token endpoint ${new URL(url).origin} answered ${response.status}: ${(await response.text()).slice(0, 200)}`,
      );
    const body = JSON.parse(await response.text()) as { token?: string; access_token?: string };
    const token = body.token ?? body.access_token;
    if (!token) throw new CliError(`token endpoint ${new URL(url).origin} returned no token`);
    return token;
  }

  /** Turns an unexpected response into an actionable error. */
  async failure(response: HttpResponse, what: string): Promise<CliError> {
    const text = (await response.text().catch(() => "")).slice(0, 500);
    let detail = text;
    try {
      const parsed = JSON.parse(text) as { errors?: { code?: string; message?: string }[] };
      detail = (parsed.errors ?? []).map((e) => `${e.code}: ${e.message}`).join("; ") || text;
    } catch {}
    const status = response.status;
    const message = `${what} failed: ${status} ${detail}`.trim();
    if (status === 413)
      return new CliError(
        message,
        "the registry (or the edge in front of it) refused the request body as too large: retry with a smaller --chunk-size, e.g. --chunk-size 50MB",
        413,
      );
    if (status === 401) return this.refused();
    if (status === 403)
      return new CliError(
        message,
        `the credentials were accepted but may not ${this.options.actions.join("/")} ${this.repo}`,
        403,
      );
    return new CliError(message, null, status, status >= 500 || status === 408 || status === 429);
  }

  manifestUrl(reference: string): string {
    return `/v2/${this.repo}/manifests/${reference}`;
  }

  blobUrl(digest: string): string {
    return `/v2/${this.repo}/blobs/${digest}`;
  }

  /** GET a blob from `start` (to `end`, inclusive, when given) as a stream. */
  async openBlob(digest: string, start = 0, end?: number): Promise<Readable> {
    const headers: Record<string, string> = {};
    if (start > 0 || end !== undefined) headers.Range = `bytes=${start}-${end ?? ""}`;
    let response = await this.request({ method: "GET", url: this.blobUrl(digest), headers });
    response = await this.followRedirects(response, headers);
    if (response.status === 200 && start === 0) return response.body;
    if (response.status === 206) return response.body;
    throw await this.failure(response, `GET blob ${digest}`);
  }

  /**
   * A registry may send a blob GET to its storage (a presigned R2 URL, a CDN): follows up to
   * MAX_REDIRECTS with the request's own headers (Range) and never the registry's
   * credentials, which belong to the registry's host alone; the URL carries its own.
   */
  private async followRedirects(response: HttpResponse, headers: Record<string, string>): Promise<HttpResponse> {
    let current = response;
    for (let hops = 0; REDIRECT_STATUSES.has(current.status); hops++) {
      const location = current.header("location");
      await current.drain();
      if (!location || hops === MAX_REDIRECTS)
        throw new CliError(
          `GET blob: ${location ? `more than ${MAX_REDIRECTS} redirects` : "a redirect without Location"}`,
        );
      const url = new URL(location, current.url);
      if (url.protocol !== "https:" && url.protocol !== "http:")
        throw new CliError(`GET blob: a redirect to ${url.protocol} is not followed`);
      current = await sendRequest(
        { method: "GET", url: url.toString(), headers },
        { insecure: this.options.insecure, idleTimeoutMs: this.options.idleTimeoutMs },
      );
    }
    return current;
  }

  /** The size of a blob in this repository, or null when it is not there. */
  async headBlob(digest: string): Promise<number | null> {
    const response = await this.request({ method: "HEAD", url: this.blobUrl(digest) });
    await response.drain();
    if (response.status === 404) return null;
    if (response.status !== 200) throw await this.failure(response, `HEAD blob ${digest}`);
    return Number(response.header("content-length") ?? "0");
  }
}
