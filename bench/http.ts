// A minimal HTTP client for the benchmark: streams generated bodies (chunked when no length
// is given, as docker sends) and drains responses, timing each request.
import { request as httpRequest, type IncomingHttpHeaders } from "node:http";
import { createHash } from "node:crypto";
import { Agent } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";

/** Connections are kept alive, as docker and skopeo keep theirs. */
const keepAlive = new Agent({ keepAlive: true, maxSockets: 4 });
/** Over TLS (the wrk rows): the local servers use self-signed certificates. */
const keepAliveTls = new HttpsAgent({ keepAlive: true, maxSockets: 4, rejectUnauthorized: false });

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  bytes: number;
  sha256: string | null;
  body: string;
  /** Milliseconds from sending the request to the answer's first body byte (to its end when
   *  it has no body): a pull's time to first byte. */
  firstByteMs: number;
}

/** A request that sees no bytes for this long fails the run instead of hanging it. */
const IDLE_TIMEOUT_MS = 120_000;

export class IdleTimeout extends Error {}

export function send(
  url: string,
  method: string,
  headers: Record<string, string>,
  body: Iterable<Buffer> | null,
  options: { hash?: boolean; agent?: Agent; bytesPerSecond?: number; bodyChars?: number } = {},
): Promise<Reply> {
  // A manifest must be read whole to find its layers; other bodies only show in error messages.
  const bodyChars = options.bodyChars ?? 2000;
  const sent = performance.now();
  return new Promise((resolve, reject) => {
    const tls = url.startsWith("https:");
    const open = tls ? httpsRequest : httpRequest;
    const req = open(url, { method, headers, agent: tls ? keepAliveTls : (options.agent ?? keepAlive) }, (res) => {
      const hash = options.hash ? createHash("sha256") : null;
      let bytes = 0;
      let text = "";
      let firstByteMs: number | null = null;
      const started = performance.now();
      res.on("data", (chunk: Buffer) => {
        firstByteMs ??= performance.now() - sent;
        bytes += chunk.length;
        // A slow reader (a laptop on Wi-Fi, a client that unpacks as it pulls): pause while
        // ahead of the rate, so the server sees the backpressure such a client gives.
        if (options.bytesPerSecond) {
          const ahead = (bytes / options.bytesPerSecond) * 1000 - (performance.now() - started);
          if (ahead > 1) {
            res.pause();
            setTimeout(() => res.resume(), ahead);
          }
        }
        hash?.update(chunk);
        if (text.length < bodyChars) text += chunk.toString("utf8", 0, Math.min(chunk.length, bodyChars - text.length));
      });
      res.on("end", () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          bytes,
          sha256: hash ? `sha256:${hash.digest("hex")}` : null,
          body: hash ? "" : text,
          firstByteMs: firstByteMs ?? performance.now() - sent,
        }),
      );
      res.on("error", reject);
    });
    req.on("error", reject);
    req.setTimeout(IDLE_TIMEOUT_MS, () =>
      req.destroy(new IdleTimeout(`${method} ${url}: no bytes for ${IDLE_TIMEOUT_MS / 1000} s`)),
    );
    if (!body) return void req.end();
    const iterator = body[Symbol.iterator]();
    const pump = () => {
      for (;;) {
        const next = iterator.next();
        if (next.done) return void req.end();
        if (!req.write(next.value)) return void req.once("drain", pump);
      }
    };
    pump();
  });
}

export function absolute(base: string, location: string): string {
  return new URL(location, base).toString();
}
