// A small HTTP client over node:http(s): keep-alive agents, optional certificate checks
// (wrangler dev serves a self-signed certificate), streamed request bodies with a byte
// counter, and streamed responses. node:http rather than fetch, because Node 20's fetch can
// neither skip certificate checks nor report how many body bytes went out.
import http from "node:http";
import https from "node:https";
import type { Readable } from "node:stream";
import { CliError } from "./errors.js";

export interface HttpRequest {
  method: string;
  url: string;
  headers?: Record<string, string>;
  /** A fresh body for each attempt: streams cannot be replayed after a challenge. */
  body?: () => Readable | Buffer;
  /** Called with the size of each piece of body written to the socket. */
  onBodyBytes?: (count: number) => void;
  signal?: AbortSignal;
}

export interface HttpResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** Resolved against the request URL. */
  url: string;
  body: Readable;
  header(name: string): string | null;
  text(): Promise<string>;
  buffer(): Promise<Buffer>;
  /** Reads and discards the body so the connection can be reused. */
  drain(): Promise<void>;
}

export interface HttpOptions {
  insecure: boolean;
  /** Give up on a TLS handshake after this long (a plain-HTTP server may never answer the
   *  ClientHello); needs freshConnection, since a reused socket has no handshake to time. */
  handshakeTimeoutMs?: number;
  /** A new connection, outside the keep-alive pool. */
  freshConnection?: boolean;
  /** Give up on a request whose connection moves no byte either way this long: a registry
   *  that stopped answering, or a connection a NAT or proxy dropped without telling us, would
   *  otherwise hold the command forever. Sending a body or receiving one keeps it alive. */
  idleTimeoutMs?: number;
}

/** A request given up after its idle timeout: retried like a broken connection. */
export class RequestTimedOut extends CliError {
  readonly code = "ETIMEDOUT";
  constructor(url: URL, ms: number) {
    super(
      `${url.host} did not answer for ${Math.round(ms / 1000)} s (${url.pathname})`,
      "re-run the same command to go on where this one stopped; --timeout SECONDS waits longer",
      null,
      true,
    );
  }
}

const agents = new Map<string, http.Agent>();

function agentFor(protocol: string, insecure: boolean): http.Agent {
  const key = `${protocol}${insecure}`;
  let agent = agents.get(key);
  if (!agent) {
    agent =
      protocol === "https:"
        ? new https.Agent({ keepAlive: true, maxSockets: 16, rejectUnauthorized: !insecure })
        : new http.Agent({ keepAlive: true, maxSockets: 16 });
    agents.set(key, agent);
  }
  return agent;
}

async function collect(body: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of body) parts.push(part as Buffer);
  return Buffer.concat(parts);
}

function wrapResponse(url: string, res: http.IncomingMessage): HttpResponse {
  return {
    status: res.statusCode ?? 0,
    headers: res.headers,
    url,
    body: res,
    header(name) {
      const value = res.headers[name.toLowerCase()];
      return Array.isArray(value) ? value.join(", ") : (value ?? null);
    },
    text: async () => (await collect(res)).toString("utf8"),
    buffer: () => collect(res),
    drain: async () => {
      res.resume();
      if (!res.complete) await new Promise((resolve) => res.once("end", resolve).once("close", resolve));
    },
  };
}

/** The server did not complete a TLS handshake: it speaks plain HTTP, or nothing TLS. */
function tlsHandshakeFailed(error: Error): boolean {
  const code = (error as { code?: string }).code ?? "";
  return (
    code === "EPROTO" ||
    code.startsWith("ERR_SSL_") ||
    /before secure TLS connection was established/.test(error.message)
  );
}

/** Not retried: a plain-HTTP server will refuse every TLS handshake the same way. */
export class TlsHandshakeFailed extends CliError {
  constructor(url: URL, error: Error) {
    super(
      `TLS handshake with ${url.host} failed (${error.message})`,
      `if the registry serves plain HTTP, add --plain-http or write the reference as http://${url.host}/...`,
    );
  }
}

/** A refused connection is tried once more after this pause (a registry that is just
 *  starting), then reported: nothing listening on a port will not start within a retry loop. */
const REFUSED_RETRY_MS = 500;

/** Nothing listens at the address: the wrong port, or the registry is not running. */
export function connectionRefused(url: URL): CliError {
  return new CliError(
    `cannot connect to ${url.host}: connection refused`,
    `is the registry running at ${url.host}? Check the host and port (\`npm start\` listens on 127.0.0.1:8787)`,
  );
}

/** Sends a request; resolves once the response headers arrive. */
export async function sendRequest(request: HttpRequest, options: HttpOptions): Promise<HttpResponse> {
  const url = new URL(request.url);
  const body = request.body?.();
  try {
    return await sendOnce(url, request, body, options);
  } catch (error) {
    if ((error as { code?: string }).code !== "ECONNREFUSED") throw error;
  }
  // A stream is spent by the first try; bodiless and Buffer requests (every first contact:
  // /v2/, HEAD, POST, manifests) can be sent again.
  if (!body || Buffer.isBuffer(body)) {
    await new Promise((resolve) => setTimeout(resolve, REFUSED_RETRY_MS));
    try {
      return await sendOnce(url, request, body, options);
    } catch (error) {
      if ((error as { code?: string }).code !== "ECONNREFUSED") throw error;
    }
  }
  throw connectionRefused(url);
}

function sendOnce(
  url: URL,
  request: HttpRequest,
  body: Readable | Buffer | undefined,
  options: HttpOptions,
): Promise<HttpResponse> {
  const lib = url.protocol === "https:" ? https : http;
  const headers: Record<string, string> = { "User-Agent": "r2-registry-push/0.1", ...request.headers };
  if (Buffer.isBuffer(body)) headers["Content-Length"] = String(body.length);
  return new Promise((resolve, reject) => {
    const req = lib.request(url, {
      method: request.method,
      headers,
      agent: options.freshConnection ? false : agentFor(url.protocol, options.insecure),
      rejectUnauthorized: !options.insecure,
      signal: request.signal,
    });
    const idle = options.idleTimeoutMs;
    if (idle) req.setTimeout(idle, () => req.destroy(new RequestTimedOut(url, idle)));
    const timeout = options.handshakeTimeoutMs;
    if (timeout && url.protocol === "https:") {
      req.once("socket", (socket) => {
        const timer = setTimeout(() => {
          const error = Object.assign(new Error(`no TLS handshake within ${timeout} ms`), {
            code: "ERR_SSL_HANDSHAKE_TIMEOUT",
          });
          req.destroy(error);
        }, timeout);
        socket.once("secureConnect", () => clearTimeout(timer));
        socket.once("close", () => clearTimeout(timer));
      });
    }
    req.on("response", (res) => resolve(wrapResponse(url.toString(), res)));
    req.on("error", (error) => {
      if (body && !Buffer.isBuffer(body)) body.destroy();
      reject(url.protocol === "https:" && tlsHandshakeFailed(error) ? new TlsHandshakeFailed(url, error) : error);
    });
    if (!body) return void req.end();
    if (Buffer.isBuffer(body)) {
      request.onBodyBytes?.(body.length);
      return void req.end(body);
    }
    body.on("data", (piece: Buffer) => request.onBodyBytes?.(piece.length));
    body.on("error", (error) => req.destroy(error));
    body.pipe(req);
  });
}
