// A tiny HTTP client for the conformance runner: resolves relative Locations, answers auth
// challenges, follows a GET's redirect to storage (BLOB_REDIRECT) as clients do, and keeps a
// log of every response so cross-cutting rules (the API version header, the error body
// format) can be checked over all of them at the end.
import { Authenticator, type Credentials } from "./auth";

export interface RequestOptions {
  headers?: Record<string, string>;
  /** A stream is sent with Transfer-Encoding: chunked (no Content-Length). It is given as
   *  a factory because a stream can be read once and a challenge may need a retry. */
  body?: Uint8Array | string | (() => ReadableStream<Uint8Array>);
  /** Token scopes beyond what the path implies (a mount without `from` needs pull on the
   *  repository that holds the blob). Unused with Basic credentials. */
  extraScopes?: string[];
}

export interface Reply {
  method: string;
  url: URL;
  status: number;
  headers: Headers;
  body: Uint8Array;
  text(): string;
  json(): unknown;
  /** The registry's redirect this reply came through, if any: storage answered the rest. */
  redirect?: { status: number; location: string; headers: Headers };
}

/** Answers that send a GET elsewhere; followed for GET and HEAD only, as registries redirect
 *  nothing else. */
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
/** What a redirected GET's reply takes from the registry's redirect: storage cannot send it. */
const REGISTRY_HEADERS = ["Docker-Content-Digest", "Docker-Distribution-API-Version"];

export class RegistryClient {
  readonly base: URL;
  readonly log: Reply[] = [];
  private readonly auth: Authenticator;

  constructor(url: string, credentials: Credentials) {
    this.base = new URL(url);
    this.auth = new Authenticator(credentials);
  }

  /** Resolves a path or a (possibly relative) Location against the registry's URL. */
  resolve(pathOrUrl: string): URL {
    return new URL(pathOrUrl, this.base);
  }

  async request(method: string, pathOrUrl: string, options: RequestOptions = {}): Promise<Reply> {
    const url = this.resolve(pathOrUrl);
    const sent = await this.auth.headerFor(method, url, options.extraScopes);
    let reply = await this.send(method, url, options, sent);
    if (reply.status === 401) {
      const retry = await this.auth.answer(
        reply.headers.get("WWW-Authenticate"),
        method,
        url,
        sent,
        options.extraScopes,
      );
      if (retry) reply = await this.send(method, url, options, retry);
    }
    this.log.push(reply);
    return reply;
  }

  /** A request without the automatic authentication, to see the registry's challenge. */
  async anonymous(method: string, path: string): Promise<Reply> {
    const reply = await this.send(method, this.resolve(path), {}, null);
    this.log.push(reply);
    return reply;
  }

  private async send(method: string, url: URL, options: RequestOptions, authorization: string | null): Promise<Reply> {
    const headers = new Headers(options.headers);
    if (authorization) headers.set("Authorization", authorization);
    const init: RequestInit & { duplex?: "half" } = { method, headers, redirect: "manual" };
    if (options.body !== undefined) {
      if (typeof options.body === "function") {
        init.body = options.body();
        init.duplex = "half";
      } else {
        init.body = options.body;
      }
    }
    const response = await fetch(url, init);
    const location = response.headers.get("Location");
    if (REDIRECT_STATUSES.has(response.status) && location && (method === "GET" || method === "HEAD"))
      return this.followRedirect(method, url, options, response, location);
    return this.reply(method, url, response);
  }

  /** The redirect's target, fetched with the request's own headers (Range) and never the
   *  registry's credentials: a storage URL carries its own, and S3 refuses a second kind. */
  private async followRedirect(
    method: string,
    from: URL,
    options: RequestOptions,
    response: Response,
    location: string,
  ): Promise<Reply> {
    await response.body?.cancel();
    const target = new URL(location, from);
    const final = await fetch(target, { method, headers: options.headers, redirect: "follow" });
    const reply = await this.reply(method, target, final);
    const headers = new Headers(final.headers);
    for (const name of REGISTRY_HEADERS) {
      const value = response.headers.get(name);
      if (value !== null && !headers.has(name)) headers.set(name, value);
    }
    return { ...reply, headers, redirect: { status: response.status, location, headers: response.headers } };
  }

  private async reply(method: string, url: URL, response: Response): Promise<Reply> {
    const body = new Uint8Array(await response.arrayBuffer());
    return {
      method,
      url: new URL(response.url || url.href),
      status: response.status,
      headers: response.headers,
      body,
      text: () => new TextDecoder().decode(body),
      json: () => JSON.parse(new TextDecoder().decode(body)) as unknown,
    };
  }
}

/** A body sent with Transfer-Encoding: chunked, in pieces of `piece` bytes. */
export function streamOf(bytes: Uint8Array, piece = 16384): () => ReadableStream<Uint8Array> {
  return () => {
    let at = 0;
    return new ReadableStream({
      pull(controller) {
        if (at >= bytes.length) return controller.close();
        controller.enqueue(bytes.slice(at, at + piece));
        at += piece;
      },
    });
  };
}
