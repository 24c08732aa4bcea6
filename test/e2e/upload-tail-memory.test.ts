// Upload tails and the isolate's memory (issue 20): eight sessions each hold the worst tail,
// one byte short of a part (8 MiB, the default UPLOAD_PART_SIZE), and each gets a 1-byte PATCH
// at once. Each PATCH reads its tail, adds the byte and stores the new tail. The tails must go
// through the part buffer pool (64 MiB for eight uploads), never through copies of their own,
// so the isolate stays under the 96 MiB bound read from Miniflare's inspector.
import { Agent } from "node:http";
import { expect, it } from "vitest";
import { MiB, payload } from "../../bench/data";
import { absolute, send } from "../../bench/http";
import { openUpload } from "../../bench/scenarios";
import { basic } from "../shared-helpers";
import { sampleIsolateHeap } from "./isolate-heap";
import { freePort, registrySuite, type RegistryServer } from "./registry-server";

const AUTH = { Authorization: basic("tail", "tail-password") };
const LIMIT = 96 * MiB;
const TARGET = "core:user:registry";
const PART = 8 * MiB;
const SESSIONS = 8;
/** One byte short of a part after the 1-byte PATCH: the longest tail a session keeps. */
const TAIL = PART - 2;

let server: RegistryServer;
const connections = new Agent({ keepAlive: true, maxSockets: 16 });

registrySuite(
  async () => ({
    protocol: "http",
    vars: { USERNAME: "tail", PASSWORD: "tail-password" },
    inspectorPort: await freePort(),
    // Every PATCH streams into the isolate at once, as in production (no front door there).
    bodyStreams: SESSIONS,
  }),
  (started) => {
    server = started;
  },
);

async function sessionWithTail(repo: string): Promise<string> {
  const opts = { agent: connections };
  const location = await openUpload({ url: server.url, auth: AUTH.Authorization, agent: connections }, repo);
  const patch = await send(
    location,
    "PATCH",
    { ...AUTH, "Content-Type": "application/octet-stream", "Content-Length": String(TAIL) },
    payload(TAIL),
    opts,
  );
  expect(patch.status, patch.body).toBe(202);
  expect(patch.headers.range).toBe(`0-${TAIL - 1}`);
  return absolute(server.url, String(patch.headers.location));
}

it("eight sessions with the worst tail, each sent a 1-byte PATCH at once, stay under 96 MiB", async () => {
  const locations: string[] = [];
  // Two at a time: the setup is not what is measured.
  for (let i = 0; i < SESSIONS; i += 2)
    locations.push(...(await Promise.all([sessionWithTail(`tail/s${i}`), sessionWithTail(`tail/s${i + 1}`)])));
  const sampler = await sampleIsolateHeap(server.inspectorPort!, TARGET, 20);
  let peak = 0;
  let replies: Awaited<ReturnType<typeof send>>[] = [];
  try {
    replies = await Promise.all(
      locations.map((location) =>
        send(
          location,
          "PATCH",
          { ...AUTH, "Content-Type": "application/octet-stream", "Content-Length": "1" },
          [Buffer.from([7])],
          { agent: connections },
        ),
      ),
    );
  } finally {
    peak = await sampler.stop();
  }
  console.log(`${SESSIONS} × ${TAIL}-byte tails, 1-byte PATCH each: isolate peak ${(peak / MiB).toFixed(1)} MiB`);
  for (const reply of replies) {
    expect(reply.status, reply.body).toBe(202);
    expect(reply.headers.range).toBe(`0-${TAIL}`);
  }
  expect(peak).toBeGreaterThan(0);
  expect(peak).toBeLessThanOrEqual(LIMIT);
});
