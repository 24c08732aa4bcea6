// The local runtime's front door (scripts/local-runtime/front-door.ts) in front of a stand-in for workerd: a
// plain Node server that records what reaches it. It checks the two rules that keep requests
// answered while uploads stream (scripts/local-runtime/body-lanes.ts): only a few bodies stream at once, a
// stalled one gives its lane away, and body chunks are held while a request without a body
// awaits its answer. And the lane bookkeeping itself, on fake timers.
import { createServer, type IncomingMessage, request } from "node:http";
import type { Server } from "node:net";
import type { AddressInfo, Socket } from "node:net";
import { afterEach, describe, expect, it, vi } from "vitest";
import { BodyLanes, HOLD_MS, IDLE_MS } from "../../scripts/local-runtime/body-lanes";
import { frontDoor } from "../../scripts/local-runtime/front-door";
import { pause } from "../shared-helpers";

const KiB = 1024;

interface Stand {
  port: number;
  /** Bodies whose headers arrived and whose end did not, at most, over the run. */
  mostBodiesAtOnce: number;
  /** [time, bytes] of every body chunk that arrived. */
  chunks: [number, number][];
  /** Arrival time of each request without a body, by path. */
  arrivals: Map<string, number>;
  /** When each answer to a request without a body went out, by path. */
  answered: Map<string, number>;
  /** Each request's method, path and CF-Connecting-IP, in arrival order. */
  seen: string[];
  server: Server;
}

/** workerd's stand-in: reads bodies and answers 200 at their end; answers a body-less request
 *  after the delay in its `?delay=` query. */
async function standIn(): Promise<Stand> {
  const stand: Stand = {
    port: 0,
    mostBodiesAtOnce: 0,
    chunks: [],
    arrivals: new Map(),
    answered: new Map(),
    seen: [],
    server: createServer(),
  };
  let bodies = 0;
  stand.server.on("request", (req: IncomingMessage, res) => {
    const url = new URL(req.url ?? "/", "http://stand-in");
    stand.seen.push(`${req.method} ${url.pathname} ${req.headers["cf-connecting-ip"]}`);
    if (req.method === "GET") {
      stand.arrivals.set(url.pathname, Date.now());
      setTimeout(
        () => {
          stand.answered.set(url.pathname, Date.now());
          res.end("ok");
        },
        Number(url.searchParams.get("delay") ?? 0),
      );
      return;
    }
    bodies++;
    stand.mostBodiesAtOnce = Math.max(stand.mostBodiesAtOnce, bodies);
    req.on("data", (chunk: Buffer) => stand.chunks.push([Date.now(), chunk.length]));
    req.on("end", () => {
      bodies--;
      res.end("stored");
    });
  });
  await new Promise<void>((resolve) => stand.server.listen(0, "127.0.0.1", resolve));
  stand.port = (stand.server.address() as AddressInfo).port;
  return stand;
}

const servers: Server[] = [];
const sockets = new Set<Socket>();
afterEach(async () => {
  for (const socket of sockets) socket.destroy();
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

/** A front door whose requests all go to `stand`, or those with a body to `withBody`. */
async function door(stand: Stand, bodyStreams: number, withBody = stand): Promise<number> {
  servers.push(stand.server);
  if (withBody !== stand) servers.push(withBody.server);
  const server = frontDoor(
    {
      withoutBody: { port: stand.port, host: "127.0.0.1" },
      withBody: { port: withBody.port, host: "127.0.0.1" },
    },
    sockets,
    bodyStreams,
  );
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return (server.address() as AddressInfo).port;
}

/** A chunked PATCH whose body `send` writes; resolves with the status when answered. */
function upload(port: number, path: string, send: (write: (chunk: Buffer) => void) => Promise<void>) {
  return new Promise<number>((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, method: "PATCH", path, agent: false }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("error", reject);
    void send((chunk) => req.write(chunk)).then(() => req.end());
  });
}

function get(port: number, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, method: "GET", path, agent: false }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("error", reject);
    req.end();
  });
}

/** `count` chunks of `size` bytes, `every` ms apart. */
function steady(count: number, size: number, every: number) {
  return async (write: (chunk: Buffer) => void) => {
    for (let i = 0; i < count; i++) {
      write(Buffer.alloc(size, i));
      await pause(every);
    }
  };
}

describe("front door", () => {
  it("sends requests with a body to the drain worker and sets CF-Connecting-IP from the connection", async () => {
    const plain = await standIn();
    const drain = await standIn();
    const port = await door(plain, 2, drain);
    const spoofed = await new Promise<number>((resolve, reject) => {
      const req = request(
        { host: "127.0.0.1", port, path: "/v2/", headers: { "CF-Connecting-IP": "203.0.113.9" }, agent: false },
        (res) => {
          res.resume();
          res.on("end", () => resolve(res.statusCode ?? 0));
        },
      );
      req.on("error", reject);
      req.end();
    });
    expect(spoofed).toBe(200);
    expect(await upload(port, "/upload/small", steady(1, 10, 0))).toBe(200);
    expect(plain.seen).toEqual(["GET /v2/ 127.0.0.1"]);
    expect(drain.seen).toEqual(["PATCH /upload/small 127.0.0.1"]);
  });

  it("refuses /cdn-cgi/ paths with 404 however they are spelled, and forwards none of them", async () => {
    const plain = await standIn();
    const drain = await standIn();
    const port = await door(plain, 2, drain);
    // The URL parser in workerd resolves dot segments, encoded ones included, before routing.
    const spellings = [
      "/cdn-cgi/handler/scheduled?cron=*/30+*+*+*+*",
      "/cdn-cgi/mf/scheduled",
      "/cdn-cgi/platform-proxy",
      "/./cdn-cgi/handler/scheduled",
      "/v2/../cdn-cgi/handler/scheduled",
      "/%2e/cdn-cgi/handler/scheduled",
      "/cdn-cgi",
    ];
    for (const path of spellings) expect(await get(port, path), path).toBe(404);
    expect(await upload(port, "/cdn-cgi/handler/email", steady(1, 10, 0))).toBe(404);
    expect(plain.seen).toEqual([]);
    expect(drain.seen).toEqual([]);
    // Paths that only look alike still go through.
    expect(await get(port, "/v2/cdn-cgi/tags/list")).toBe(200);
    expect(plain.seen).toEqual(["GET /v2/cdn-cgi/tags/list 127.0.0.1"]);
  });

  it("lets at most two bodies stream into workerd at once, and answers all of them", async () => {
    const stand = await standIn();
    const port = await door(stand, 2);
    const statuses = await Promise.all(
      Array.from({ length: 5 }, (_, i) => upload(port, `/upload/${i}`, steady(15, 16 * KiB, 20))),
    );
    expect(statuses).toEqual([200, 200, 200, 200, 200]);
    expect(stand.mostBodiesAtOnce).toBe(2);
  });

  it("gives a stalled body's lane to a waiting one", async () => {
    const stand = await standIn();
    const port = await door(stand, 2);
    const finished: string[] = [];
    const stalled = (name: string) =>
      upload(port, `/upload/${name}`, async (write) => {
        write(Buffer.alloc(16 * KiB));
        await pause(IDLE_MS * 3);
        write(Buffer.alloc(16 * KiB));
      }).then(() => finished.push(name));
    const first = stalled("stalled-1");
    const second = stalled("stalled-2");
    await pause(100);
    await upload(port, "/upload/steady", steady(5, 16 * KiB, 10)).then(() => finished.push("steady"));
    await Promise.all([first, second]);
    // The steady upload did not wait for the stalled ones to resume.
    expect(finished[0]).toBe("steady");
  });

  it("holds body chunks while a request without a body awaits its answer", async () => {
    const stand = await standIn();
    const port = await door(stand, 2);
    let streaming = true;
    const uploading = upload(port, "/upload/big", async (write) => {
      for (let i = 0; streaming; i++) {
        write(Buffer.alloc(64 * KiB, i));
        await pause(5);
      }
    });
    await pause(300);
    // Answered by the stand-in after 150 ms, well inside HOLD_MS.
    expect(HOLD_MS).toBeGreaterThan(150);
    expect(await get(port, "/manifest?delay=150")).toBe(200);
    await pause(100);
    streaming = false;
    expect(await uploading).toBe(200);
    const from = stand.arrivals.get("/manifest")!;
    const to = stand.answered.get("/manifest")!;
    const during = stand.chunks.filter(([at]) => at > from && at < to).reduce((sum, [, bytes]) => sum + bytes, 0);
    const before = stand.chunks.filter(([at]) => at > from - (to - from) && at <= from);
    // The client offered about 64 KiB every 5 ms all along; what reached workerd while the
    // GET waited is at most the chunk already on its way when the GET arrived.
    expect(before.length, "the upload streamed before the GET").toBeGreaterThan(0);
    expect(during).toBeLessThanOrEqual(128 * KiB);
  });
});

describe("body lanes", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("admits in order of arrival, as lanes free up, and skips a withdrawn request", async () => {
    vi.useFakeTimers();
    const lanes = new BodyLanes(1);
    const order: string[] = [];
    const a = lanes.enter();
    const b = lanes.enter();
    const c = lanes.enter();
    const first = await a.admitted;
    void b.admitted.then(() => order.push("b"));
    void c.admitted.then(() => order.push("c"));
    b.cancel();
    await first.turn();
    first.leave();
    await vi.advanceTimersByTimeAsync(0);
    expect(order).toEqual(["c"]);
  });

  it("counts a lane as busy only while bytes flow through it", async () => {
    vi.useFakeTimers();
    const lanes = new BodyLanes(1);
    const first = await lanes.enter().admitted;
    await first.turn();
    let admitted = false;
    void lanes.enter().admitted.then(() => (admitted = true));
    await vi.advanceTimersByTimeAsync(IDLE_MS / 2);
    await first.turn();
    await vi.advanceTimersByTimeAsync(IDLE_MS - 1);
    expect(admitted).toBe(false);
    await vi.advanceTimersByTimeAsync(IDLE_MS);
    expect(admitted).toBe(true);
    expect(lanes.busy()).toBe(1);
  });

  it("holds a chunk at most HOLD_MS, then lets the body flow before holding it again", async () => {
    vi.useFakeTimers();
    const lanes = new BodyLanes(2);
    const lane = await lanes.enter().admitted;
    const answerStarted = lanes.awaitAnswer();
    let released = false;
    void lane.turn().then(() => (released = true));
    await vi.advanceTimersByTimeAsync(HOLD_MS - 1);
    expect(released).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(released).toBe(true);
    // Still awaited, but the body has just resumed: its next chunk goes at once.
    let next = false;
    void lane.turn().then(() => (next = true));
    await vi.advanceTimersByTimeAsync(0);
    expect(next).toBe(true);
    answerStarted();
    answerStarted();
  });

  it("releases held chunks as soon as the last awaited answer starts", async () => {
    vi.useFakeTimers();
    const lanes = new BodyLanes(2);
    const lane = await lanes.enter().admitted;
    const one = lanes.awaitAnswer();
    const two = lanes.awaitAnswer();
    let released = false;
    void lane.turn().then(() => (released = true));
    one();
    await vi.advanceTimersByTimeAsync(10);
    expect(released).toBe(false);
    two();
    await vi.advanceTimersByTimeAsync(0);
    expect(released).toBe(true);
  });
});
