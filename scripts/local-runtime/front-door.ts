// The local runtime's front door: the public plain-HTTP port in front of workerd.
// - A connection that opens with a TLS ClientHello is closed at once: docker and skopeo try
//   TLS first even on 127.0.0.1 and fall back to HTTP only when the handshake fails, so a
//   server that stays silent costs every command a 10 s handshake timeout.
// - Every request goes to workerd on a fresh connection. workerd sometimes closes a
//   keep-alive connection right after answering a streamed upload, without `Connection:
//   close`; a client that sends its next request on it gets a reset (measured: 10 of 10
//   closing PUTs after concurrent chunked PATCHes, none with a fresh connection per request;
//   docs/local-runtime.md). Clients keep their own keep-alive connections to this server.
// - Only a few request bodies stream into workerd at once (scripts/local-runtime/body-lanes.ts); the others
//   wait here, unread, so requests without a body are never stuck behind ten uploads.
// - /cdn-cgi/ paths get 404 here: Miniflare serves its own endpoints there (trigger handlers,
//   a binding proxy, live reload) with no authentication, and none belong on a public port.
//   The cron is fired through the runtime's loopback-only trigger (scripts/local-runtime/cron-trigger.ts).
import { createServer as createHttpServer, type IncomingMessage, request, type ServerResponse } from "node:http";
import { createServer, type Server, type Socket } from "node:net";
import type { Readable, Writable } from "node:stream";
import { BodyLanes, type Lane } from "./body-lanes";

const TLS_HANDSHAKE = 0x16;
/** A body this small (a manifest, a config blob) goes straight in: it takes workerd no time. */
const SMALL_BODY_BYTES = 1024 * 1024;

/** Headers that describe one connection, not the message (RFC 9110 §7.6.1), plus Expect:
 *  Node's server answers 100-continue itself before the body is forwarded. */
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "te",
  "trailer",
  "upgrade",
  "expect",
]);

/** The headers of `raw` (name, value, name, value…) that are not hop-by-hop, nor named in `drop`. */
function endToEnd(raw: string[], drop?: string): string[] {
  const kept: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (!HOP_BY_HOP.has(name) && name !== drop) kept.push(raw[i]!, raw[i + 1]!);
  }
  return kept;
}

/** The request's end-to-end headers, with CF-Connecting-IP set to the client's address as
 *  Cloudflare's edge sets it (login throttling keys on it); a value the client sent is dropped. */
function requestHeaders(req: IncomingMessage): string[] {
  const client = (req.socket.remoteAddress ?? "127.0.0.1").replace(/^::ffff:/, "");
  return [...endToEnd(req.rawHeaders, "cf-connecting-ip"), "CF-Connecting-IP", client];
}

interface Upstream {
  port: number;
  host: string;
}

/** Where requests go in workerd: Miniflare's own entry, which hands them to the registry, or
 *  the drain worker's socket for requests with a body (runtime.ts says why). */
export interface Upstreams {
  withoutBody: Upstream;
  withBody: Upstream;
}

function hasBody(req: IncomingMessage): boolean {
  return req.headers["transfer-encoding"] !== undefined || Number(req.headers["content-length"] ?? 0) > 0;
}

/** A body of unknown length (chunked) or one over SMALL_BODY_BYTES streams through a lane. */
function streamsABody(req: IncomingMessage): boolean {
  if (req.headers["transfer-encoding"] !== undefined) return true;
  const length = Number(req.headers["content-length"] ?? 0);
  return !(length <= SMALL_BODY_BYTES);
}

/** Whether workerd would route the request to one of Miniflare's /cdn-cgi/ endpoints. The
 *  path is read the way workerd's URL parser reads it, which resolves dot segments (`/./`,
 *  `/v2/../`, `%2e`), so no spelling slips past. */
export function isRuntimePath(target: string | undefined): boolean {
  let path: string;
  try {
    path = new URL(target ?? "/", "http://front-door").pathname.toLowerCase();
  } catch {
    return true; // workerd would refuse it too; nothing is lost by answering 404
  }
  return path === "/cdn-cgi" || path.startsWith("/cdn-cgi/");
}

function forward(upstreams: Upstreams, lanes: BodyLanes | null, req: IncomingMessage, res: ServerResponse): void {
  if (isRuntimePath(req.url)) {
    res.writeHead(404, { "Content-Type": "text/plain" }).end("not found\n");
    return;
  }
  const upstream = hasBody(req) ? upstreams.withBody : upstreams.withoutBody;
  if (lanes === null || !streamsABody(req)) {
    relay(upstream, lanes, req, res, null);
    return;
  }
  const { admitted, cancel } = lanes.enter();
  let gone = false;
  const onClose = () => {
    gone = true;
    cancel();
  };
  res.once("close", onClose);
  void admitted.then((lane) => {
    res.off("close", onClose);
    if (gone) return lane.leave();
    relay(upstream, lanes, req, res, lane);
  });
}

function relay(
  target: Upstream,
  lanes: BodyLanes | null,
  req: IncomingMessage,
  res: ServerResponse,
  lane: Lane | null,
): void {
  let answered = false;
  // A request without a body holds streaming bodies back until its answer starts.
  const answerStarted = lane ? null : (lanes?.awaitAnswer() ?? null);
  const upstream = request(
    {
      host: target.host,
      port: target.port,
      method: req.method,
      path: req.url,
      headers: requestHeaders(req),
      agent: false,
    },
    (answer) => {
      answered = true;
      answerStarted?.();
      res.writeHead(answer.statusCode ?? 502, answer.statusMessage, endToEnd(answer.rawHeaders));
      if (lanes) relayGated(answer, res, lanes.answerGate());
      else answer.pipe(res);
      answer.on("error", () => res.destroy());
    },
  );
  upstream.on("error", (error) => {
    lane?.leave();
    answerStarted?.();
    if (answered || res.headersSent) return;
    // workerd is local: this means it is gone (stopping or crashed).
    res.writeHead(502, { "Content-Type": "text/plain" }).end(`local runtime unreachable: ${error.message}\n`);
  });
  // A client that gives up mid-upload aborts the Worker's request too.
  req.on("error", () => upstream.destroy());
  res.on("close", () => {
    lane?.leave();
    answerStarted?.();
    if (!res.writableFinished) upstream.destroy();
  });
  if (lane) {
    relayGated(req, upstream, () => lane.turn(), lane.leave);
    req.once("close", lane.leave);
  } else req.pipe(upstream);
}

/** Relays `from` to `to` chunk by chunk, each after `gate`, with `from` paused meanwhile and
 *  while `to` is full; at the end, `onEnd` and then `to` is ended. A request body passes its
 *  lane's turn this way, a response body the answers-first gate (body-lanes.ts). */
function relayGated(from: Readable, to: Writable, gate: () => Promise<void>, onEnd: () => void = () => {}): void {
  // Each chunk is written after the one before; "end" may come while the last one is held.
  let written = Promise.resolve();
  from.on("data", (chunk: Buffer) => {
    from.pause();
    written = written.then(gate).then(() => {
      if (to.destroyed) return;
      if (to.write(chunk)) from.resume();
      else to.once("drain", () => from.resume());
    });
  });
  from.once("end", () => {
    void written.then(() => {
      onEnd();
      if (!to.destroyed) to.end();
    });
  });
}

/** The front door's TCP server; `open` tracks client connections so stop() can close them.
 *  `bodyStreams`: how many request bodies may stream into workerd at once. Infinity relays
 *  every request as it comes, with neither rule of body-lanes.ts (the benchmark's baseline). */
export function frontDoor(upstreams: Upstreams, open: Set<Socket>, bodyStreams: number): Server {
  const lanes = Number.isFinite(bodyStreams) ? new BodyLanes(bodyStreams) : null;
  const http = createHttpServer(
    // Uploads of several GiB take minutes; Node's default 300 s request timeout would cut them.
    { requestTimeout: 0, keepAliveTimeout: 30_000 },
    (req, res) => forward(upstreams, lanes, req, res),
  );
  return createServer((client: Socket) => {
    open.add(client);
    client.on("close", () => open.delete(client));
    client.on("error", () => client.destroy());
    client.once("data", (first: Buffer) => {
      if (first[0] === TLS_HANDSHAKE) return void client.destroy();
      client.pause();
      client.unshift(first);
      http.emit("connection", client);
      client.resume();
    });
  });
}
