// A workerd that stops answering, in the local runtime and in the workers test pool: the
// prevention and the cure.
// - Prevention: every workerd starts with V8's concurrent garbage collector off
//   (scripts/local-runtime/workerd-v8-flags.mjs): the flags reach V8, and the runtime's
//   workerd, the first one and a restarted one, and the workers pool's workerd start through
//   the wrapper that adds them.
// - Cure, the watchdog (scripts/local-runtime/watchdog.ts): a workerd whose thread never comes
//   back, or that exited, is started again, loudly, and the runtime answers again. The
//   stand-in for workerd's own hang is a Worker that loops forever (test/e2e/spin-worker/).
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { Miniflare } from "miniflare";
import { describe, expect, it } from "vitest";
import {
  bundledWorkerd,
  v8FlagsEnvironment,
  WORKERD_V8_FLAGS,
} from "../../scripts/local-runtime/workerd-v8-flags-launch";
import { UNANSWERED_MS } from "../../scripts/local-runtime/watchdog";
import { workerdProcesses } from "../../scripts/local-runtime/workerd-cpu";
// @ts-expect-error plain JavaScript without declarations (it runs before every workerd start)
import { withV8Flags } from "../../scripts/local-runtime/workerd-v8-flags.mjs";
import { registrySuite, ROOT, type RegistryServer } from "./registry-server";

let server: RegistryServer;
registrySuite(
  async () => ({ protocol: "http", config: join(ROOT, "test/e2e/spin-worker/wrangler.toml") }),
  (started) => {
    server = started;
  },
);

const answer = (path: string, ms: number) =>
  fetch(`${server.url}${path}`, { signal: AbortSignal.timeout(ms) }).then(
    async (r) => `${r.status} ${await r.text()}`,
    (error: Error) => error.name,
  );

/** The environment of each workerd in a process group (the registry's by default), by pid;
 *  one that exits between the listing and the read is left out. */
function workerdEnvironments(group = server.pgid): Map<number, string[]> {
  const environments = new Map<number, string[]>();
  for (const { pid } of workerdProcesses({ group })) {
    try {
      environments.set(pid, readFileSync(`/proc/${pid}/environ`, "utf8").split("\0"));
    } catch {}
  }
  return environments;
}

/** What the environment of a workerd started through the V8 flags wrapper holds. */
const STARTED_WITH_THE_FLAGS = `LOCAL_RUNTIME_V8_FLAGS=${WORKERD_V8_FLAGS.join(" ")}`;

/** Whether the one workerd the registry runs was started through the V8 flags wrapper. */
function workerdHasTheFlags(): boolean {
  const environments = [...workerdEnvironments().values()];
  expect(environments.length).toBe(1);
  return environments[0]!.includes(STARTED_WITH_THE_FLAGS);
}

it("starts the runtime's workerd with V8's concurrent collector off", () => {
  expect(WORKERD_V8_FLAGS).toContain("--single-threaded-gc");
  expect(workerdHasTheFlags()).toBe(true);
});

it(
  "restarts a workerd that stopped answering while it spins, and answers again",
  async () => {
    expect(await answer("/hello", 10_000)).toBe("200 ok");
    const spinning = answer("/spin", 5 * UNANSWERED_MS);
    expect(await answer("/hello", 3_000), "workerd's one thread is taken").toBe("TimeoutError");
    let after = "";
    const deadline = Date.now() + 4 * UNANSWERED_MS;
    while (Date.now() < deadline && after !== "200 ok") after = await answer("/hello", 5_000);
    expect(after, server.log().slice(-2000)).toBe("200 ok");
    expect(await spinning, "the request in flight is cut, not answered").not.toMatch(/^200/);
    expect(server.log()).toContain("workerd answered nothing for 60 s");
    expect(server.log()).toContain("local runtime: workerd restarted");
    expect(workerdHasTheFlags(), "the restarted workerd has the flags too").toBe(true);
  },
  8 * UNANSWERED_MS,
);

it("starts workerd again when it exits (killed here, as a crash would end it), and answers again", async () => {
  const [pid] = [...workerdEnvironments().keys()];
  process.kill(pid!, "SIGKILL");
  expect(await answer("/hello", 3_000)).toMatch(/^502 local runtime unreachable/);
  let after = "";
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline && after !== "200 ok") after = await answer("/hello", 5_000);
  expect(after, server.log().slice(-2000)).toBe("200 ok");
  expect(server.log()).toContain("local runtime: workerd exited");
  expect([...workerdEnvironments().keys()]).not.toContain(pid);
  expect(workerdHasTheFlags(), "the new workerd has the flags too").toBe(true);
}, 120_000);

it("starts the workers pool's workerd (vitest.config.ts) with the flags too, from a clean environment", async () => {
  // A run of one small file of the workers project, in its own process group, with none of
  // the variables this process inherited from its own vitest.config.ts.
  const clean = { ...process.env };
  for (const key of Object.keys(v8FlagsEnvironment([], ""))) delete clean[key];
  const vitest = spawn(
    process.execPath,
    [join(ROOT, "node_modules/vitest/vitest.mjs"), "run", "--project", "workers", "test/manifest-cache.test.ts"],
    { cwd: ROOT, env: clean, detached: true, stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  for (const stream of [vitest.stdout, vitest.stderr]) stream.on("data", (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => vitest.on("exit", resolve));
  try {
    let environments: string[][] = [];
    const deadline = Date.now() + 120_000;
    while (environments.length === 0 && vitest.exitCode === null && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      environments = [...workerdEnvironments(vitest.pid!).values()];
    }
    expect(environments.length, output.slice(-2000)).toBeGreaterThan(0);
    for (const environment of environments) expect(environment).toContain(STARTED_WITH_THE_FLAGS);
    expect(await exited, output.slice(-2000)).toBe(0);
  } finally {
    if (vitest.exitCode === null) process.kill(-vitest.pid!, "SIGKILL");
  }
}, 180_000);

describe("the V8 flags wrapper (scripts/local-runtime/workerd-with-v8-flags.sh)", () => {
  /** What a Worker started through the wrapper with `flags` answers, or workerd's refusal. */
  async function answerWith(...flags: string[]): Promise<string> {
    const wrapped = v8FlagsEnvironment(flags, bundledWorkerd());
    const saved = Object.fromEntries(Object.keys(wrapped).map((key) => [key, process.env[key]]));
    Object.assign(process.env, wrapped);
    let stderr = "";
    const mf = new Miniflare({
      modules: true,
      script: "export default { fetch() { return new Response(typeof gc) } }",
      handleRuntimeStdio: (_out, err) => err.on("data", (d: Buffer) => (stderr += d.toString())),
    });
    try {
      return await (await mf.dispatchFetch("http://localhost/")).text();
    } catch {
      return stderr;
    } finally {
      for (const [key, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
      await mf.dispose().catch(() => {});
    }
  }

  it("hands V8 the flags: --expose-gc gives the Worker gc(), which it lacks without", async () => {
    expect(await answerWith()).toBe("undefined");
    expect(await answerWith("--expose-gc")).toBe("function");
    expect(await answerWith(...WORKERD_V8_FLAGS, "--expose-gc")).toBe("function");
  });

  it("makes workerd refuse a flag V8 does not know, so a typo cannot pass unseen", async () => {
    expect(await answerWith("--no-such-v8-flag")).toContain("unrecognized V8 flag");
  });
});

/** Reads a framed Cap'n Proto message back: its segments, and the root struct's `v8Flags`. */
function readConfig(message: Uint8Array): { segments: Uint8Array[]; flags: string[] | null; slotAt: number[] } {
  const view = new DataView(message.buffer, message.byteOffset, message.byteLength);
  const count = view.getUint32(0, true) + 1;
  let at = Math.ceil((4 * (1 + count)) / 8) * 8;
  const segments: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const bytes = 8 * view.getUint32(4 * (1 + i), true);
    segments.push(message.subarray(at, at + bytes));
    at += bytes;
  }
  const word = (segment: number, index: number) =>
    new DataView(segments[segment]!.buffer, segments[segment]!.byteOffset).getBigUint64(8 * index, true);
  /** Follows a pointer at (segment, index) through a far pointer: where the target's pointer sits. */
  const land = (segment: number, index: number): [number, number] => {
    const w = word(segment, index);
    return (w & 3n) === 2n ? [Number(w >> 32n), Number((w & 0xffffffffn) >> 3n)] : [segment, index];
  };
  const offsetOf = (w: bigint) => Number(BigInt.asIntN(30, (w & 0xffffffffn) >> 2n));
  const [rootSegment, rootAt] = land(0, 0);
  const root = word(rootSegment, rootAt);
  const slot = rootAt + 1 + offsetOf(root) + Number((root >> 32n) & 0xffffn) + 2;
  if (word(rootSegment, slot) === 0n) return { segments, flags: null, slotAt: [rootSegment, slot] };
  const [listSegment, padAt] = land(rootSegment, slot);
  const list = word(listSegment, padAt);
  const first = padAt + 1 + offsetOf(list);
  const flags: string[] = [];
  for (let i = 0; i < Number(list >> 35n); i++) {
    const text = word(listSegment, first + i);
    const start = 8 * (first + i + 1 + offsetOf(text));
    const bytes = segments[listSegment]!.subarray(start, start + Number(text >> 35n));
    expect(bytes.at(-1), "a text ends in NUL").toBe(0);
    flags.push(new TextDecoder().decode(bytes.subarray(0, -1)));
  }
  return { segments, flags, slotAt: [rootSegment, slot] };
}

/** A message whose root Config struct lives in segment `rootIn`, behind a far pointer unless 0. */
function configMessage(segmentWords: number[], rootIn: number, dataWords: number, pointers: number, fill: number) {
  const header = Math.ceil((4 * (1 + segmentWords.length)) / 8) * 8;
  const total = header + 8 * segmentWords.reduce((a, b) => a + b, 0);
  const out = new Uint8Array(total).fill(fill);
  const view = new DataView(out.buffer);
  view.setUint32(0, segmentWords.length - 1, true);
  for (const [i, w] of segmentWords.entries()) view.setUint32(4 * (1 + i), w, true);
  const start = (segment: number) => header + 8 * segmentWords.slice(0, segment).reduce((a, b) => a + b, 0);
  // The struct pointer sits at word 0 of its segment (a landing pad when the root is far), the
  // struct right after it; its pointers are null.
  const structPointer = (BigInt(dataWords) << 32n) | (BigInt(pointers) << 48n);
  view.setBigUint64(start(rootIn), structPointer, true);
  out.fill(0, start(rootIn) + 8 * (1 + dataWords), start(rootIn) + 8 * (1 + dataWords + pointers));
  if (rootIn > 0) view.setBigUint64(start(0), 2n | (BigInt(rootIn) << 32n), true);
  return out;
}

it("withV8Flags: any flags read back from any layout of the config, and no original byte moves but the slot", () => {
  const layout = fc
    .record({
      segments: fc.integer({ min: 1, max: 3 }),
      rootIn: fc.nat(),
      dataWords: fc.integer({ min: 0, max: 4 }),
      pointers: fc.integer({ min: 3, max: 6 }),
      extra: fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 3, maxLength: 3 }),
      fill: fc.integer({ min: 1, max: 255 }),
    })
    .map((l) => ({ ...l, rootIn: l.rootIn % l.segments }));
  const flags = fc.array(fc.stringMatching(/^--[a-z0-9-]{1,40}$/), { maxLength: 5 });
  fc.assert(
    fc.property(layout, flags, (l, wanted) => {
      const words = l.extra.slice(0, l.segments).map((w, i) => (i === l.rootIn ? 1 + l.dataWords + l.pointers + w : w));
      const before = configMessage(words, l.rootIn, l.dataWords, l.pointers, l.fill);
      const read = readConfig(before);
      expect(read.flags).toBeNull();
      const after = readConfig(withV8Flags(before, wanted));
      expect(after.flags).toEqual(wanted);
      expect(after.segments.length).toBe(read.segments.length + 1);
      const [slotSegment, slot] = read.slotAt;
      read.segments.forEach((segment, i) => {
        const changed = Array.from(segment).flatMap((byte, at) =>
          after.segments[i]![at] === byte ? [] : [Math.floor(at / 8)],
        );
        expect(new Set(changed)).toEqual(i === slotSegment ? new Set([slot]) : new Set());
      });
    }),
  );
});
