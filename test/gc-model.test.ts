// Model test: random interleavings of push, delete, mount and collector steps (grace 0,
// small steps so a cycle spans many rounds). Each round runs one client action at the same
// time as a collector step. The model holds what the registry acknowledged; the invariant
// after every round: everything reachable from an acknowledged tag is readable, byte for byte.
import { reset } from "cloudflare:test";
import fc from "fast-check";
import { expect, it } from "vitest";
import { buildImage, checkImage, deleteManifest, dockerPush, gcEnv, type Image, collectorStep } from "./gc-helpers";

const REPOS = ["model/a", "model/b"];
const TAGS = ["t0", "t1", "t2"];
const collectorEnv = gcEnv({ GC_MAX_OPERATIONS: "50" });

type Action =
  | { kind: "push"; repo: number; tag: number; seed: number; layer: number }
  | { kind: "mount"; repo: number; tag: number; seed: number; layer: number }
  | { kind: "delete"; repo: number; tag: number }
  | { kind: "idle" };

const index = (n: number) => fc.integer({ min: 0, max: n - 1 });
const image = { repo: index(REPOS.length), tag: index(TAGS.length), seed: index(6), layer: index(4) };
const action: fc.Arbitrary<Action> = fc.oneof(
  fc.record({ kind: fc.constant("push" as const), ...image }),
  fc.record({ kind: fc.constant("mount" as const), ...image }),
  fc.record({ kind: fc.constant("delete" as const), repo: index(REPOS.length), tag: index(TAGS.length) }),
  fc.constant({ kind: "idle" as const }),
);
const round = fc.record({ action, collect: fc.boolean() });

async function apply(model: Map<string, Image>, a: Action): Promise<void> {
  if (a.kind === "idle") return;
  const repo = REPOS[a.repo]!;
  const key = `${repo}:${TAGS[a.tag]}`;
  if (a.kind === "delete") {
    const target = model.get(key);
    if (!target) return;
    expect(await deleteManifest(repo, target.digest)).toBe(202);
    for (const [k, v] of model) if (v.repo === repo && v.digest === target.digest) model.delete(k);
    return;
  }
  const built = buildImage(repo, TAGS[a.tag]!, a.seed * 10 + a.layer, a.layer);
  const from = a.kind === "mount" ? REPOS[(a.repo + 1) % REPOS.length] : undefined;
  const pushed = await dockerPush(built, 4, from);
  // A push that failed no longer claims its tag; one that succeeded replaces the old value.
  if (pushed) model.set(key, pushed);
  else model.delete(key);
}

it("keeps everything reachable from acknowledged tags readable under random interleavings", {
  timeout: 900_000,
}, async () => {
  let rounds = 0;
  await fc.assert(
    fc.asyncProperty(fc.array(round, { minLength: 4, maxLength: 12 }), async (plan) => {
      await reset();
      const model = new Map<string, Image>();
      for (const step of plan) {
        const collector = step.collect ? collectorStep(collectorEnv, { trigger: "manual" }) : Promise.resolve(null);
        await Promise.all([apply(model, step.action), collector]);
        rounds++;
        const problems = (await Promise.all([...model.values()].map(checkImage))).flat();
        expect(problems).toEqual([]);
      }
    }),
    { numRuns: 12, seed: 20260427, endOnFailure: true },
  );
  console.log(`model rounds checked: ${rounds}`);
});
