// Pushes racing the collector: the collector runs small steps back to back
// while clients push images that reuse layers it is about to free (docker skips blobs that
// HEAD finds), mount them into other repositories, and push fresh ones. Every push the
// registry acknowledged must stay whole, during the race and after a later quiet cycle.
import { reset } from "cloudflare:test";
import { beforeAll, expect, it } from "vitest";
import {
  buildImage,
  checkImage,
  deleteManifest,
  dockerPush,
  gcEnv,
  runGc,
  type Image,
  collectorStep,
} from "./gc-helpers";

const GARBAGE = 8;
// A short grace period: with 0, a blob uploaded but not yet named by its manifest is garbage
// at once, and a collector running nonstop frees it before every PUT (test/gc-model.test.ts
// covers grace 0 with one step per round). The layers being reused are older than this.
const GRACE_SECONDS = 15;
const collectorEnv = gcEnv({ GC_MAX_OPERATIONS: "60", GC_GRACE_SECONDS: String(GRACE_SECONDS) });

beforeAll(async () => {
  await reset();
});

async function seedGarbage(): Promise<void> {
  for (let i = 0; i < GARBAGE; i++) {
    const image = await dockerPush(buildImage("race/src", `old${i}`, 100 + i));
    await deleteManifest("race/src", image!.digest);
  }
  await new Promise((r) => setTimeout(r, (GRACE_SECONDS + 1) * 1000));
}

/** A bound on the race, so a starved push shows up as a failed assertion, never a hang. */
const RACE_DEADLINE_MS = 240_000;

/** Runs collector steps back to back until the pushes are done and `cycles` cycles finished. */
async function collect(cycles: number, pushing: { done: boolean }, log: string[]): Promise<void> {
  let finished = 0;
  const deadline = Date.now() + RACE_DEADLINE_MS;
  while ((finished < cycles || !pushing.done) && Date.now() < deadline) {
    const report = await collectorStep(collectorEnv, { trigger: "manual" });
    if (report?.cycleFinished) finished++;
    if (report) log.push(`${report.phase} ${JSON.stringify(report.freed)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function pushAll(kind: "reuse" | "mount" | "fresh", acked: Image[], failed: string[]): Promise<void> {
  for (let i = 0; i < GARBAGE; i++) {
    const repo = kind === "reuse" ? "race/src" : kind === "mount" ? "race/mounted" : "race/fresh";
    const layerSeed = kind === "fresh" ? 300 + i : 100 + i;
    const image = buildImage(repo, `${kind}${i}`, 200 + i + (kind === "mount" ? 50 : 0), layerSeed);
    const pushed = await dockerPush(image, 4, kind === "mount" ? "race/src" : undefined);
    if (pushed) acked.push(pushed);
    else failed.push(`${repo}:${image.tag}`);
  }
}

it("keeps every acknowledged image whole while the collector runs", { timeout: 600_000 }, async () => {
  await seedGarbage();
  const acked: Image[] = [];
  const failed: string[] = [];
  const log: string[] = [];
  const pushing = { done: false };
  const pushes = Promise.all([
    pushAll("reuse", acked, failed),
    pushAll("mount", acked, failed),
    pushAll("fresh", acked, failed),
  ]).finally(() => {
    pushing.done = true;
  });
  await Promise.all([collect(2, pushing, log), pushes]);
  const freed = log.filter((l) => !l.endsWith('"bytesFreed":0}')).length;
  console.log(
    `acknowledged ${acked.length}, failed ${failed.length}, collector steps ${log.length}, steps that freed something ${freed}`,
  );
  expect(acked.length).toBeGreaterThan(GARBAGE);
  const during = (await Promise.all(acked.map(checkImage))).flat();
  expect(during).toEqual([]);
  const quiet = await runGc(gcEnv());
  console.log("quiet cycle", JSON.stringify(quiet.cycleTotals));
  const after = (await Promise.all(acked.map(checkImage))).flat();
  expect(after).toEqual([]);
});
