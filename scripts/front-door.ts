// The local runtime's front door: the public plain-HTTP port in front of workerd.
// - A connection that opens with a TLS ClientHello is closed at once: docker and skopeo try
//   TLS first even on 127.0.0.1 and fall back to HTTP only when the handshake fails, so a
//   server that stays silent costs every command a 10 s handshake timeout.
// - Every request goes to workerd on a fresh connection. workerd sometimes closes a
//   keep-alive connection right after answering a streamed upload, without `Connection:
//   close`; a client that sends its next request on it gets a reset (measured: 10 of 10
//   closing PUTs after concurrent chunked PATCHes, none with a fresh connection per request;
//   docs/local-runtime.md). Clients keep their own keep-alive connections to this server.
import { createServer as createHttpServer, request, type IncomingMessage, type ServerResponse } from "node:http";
import { createServer, type Server, type Socket } from "node:net";

const TLS_HANDSHAKE = 0x16;

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

function endToEnd(raw: string[]): string[] {
  const kept: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if (!HOP_BY_HOP.has(raw[i]!.toLowerCase())) kept.push(raw[i]!, raw[i + 1]!);
  }
  return kept;
}

function forward(upstreamPort: number, upstreamHost: string, req: IncomingMessage, res: ServerResponse): void {
  let answered = false;
  const upstream = request(
    {
      host: upstreamHost,
      port: upstreamPort,
      method: req.method,
      path: req.url,
      headers: endToEnd(req.rawHeaders),
      agent: false,
    },
    (answer) => {
      answered = true;
      res.writeHead(answer.statusCode ?? 502, answer.statusMessage, endToEnd(answer.rawHeaders));
      answer.pipe(res);
      answer.on("error", () => res.destroy());
    },
  );
  upstream.on("error", (error) => {
    if (answered) return;
    // workerd is local: this means it is gone (stopping or crashed).
    res.writeHead(502, { "Content-Type": "text/plain" }).end(`local runtime unreachable: ${error.message}\n`);
  });
  // A client that gives up mid-upload aborts the Worker's request too.
  req.on("error", () => upstream.destroy());
  res.on("close", () => {
    if (!res.writableFinished) upstream.destroy();
  });
  req.pipe(upstream);
}

/** The front door's TCP server; `open` tracks client connections so stop() can close them. */
export function frontDoor(upstreamPort: number, upstreamHost: string, open: Set<Socket>): Server {
  const http = createHttpServer(
    // Uploads of several GiB take minutes; Node's default 300 s request timeout would cut them.
    { requestTimeout: 0, keepAliveTimeout: 30_000 },
    (req, res) => forward(upstreamPort, upstreamHost, req, res),
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
