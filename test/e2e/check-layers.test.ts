// The layering check (scripts/check-layers.ts) on small source trees: a tree with one file
// per rank passes, and each kind of violation, added to it, fails with its own message. Then
// the real src/ passes (with the temporary allowlist), and the command exits 1 on a problem.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { type AllowlistEntry, checkLayers } from "../../scripts/check-layers";

const REPO = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const scratch = mkdtempSync(join(tmpdir(), "check-layers-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** One file per rank, each importing the rank below; storage names R2 only where it may. */
const VALID: Record<string, string> = {
  "index.ts": `import { app } from "./app";\nexport default app;`,
  "app.ts": `import { api } from "./routes/api";\nimport { page } from "./ui/page";\nexport const app = [api, page];`,
  "routes/api.ts": `import { who } from "../auth/who";\nexport const api = who;`,
  "ui/page.ts": `import { who } from "../auth/who";\nexport const page = who;`,
  "auth/who.ts": `import type { Context } from "../http/context";\nexport function who(c: Context): string { return c.user; }`,
  "http/context.ts": `import { core } from "../registry/core";\nexport interface Context { user: string }\nexport const run = core;`,
  "registry/core.ts": [
    `import { cached } from "../proxy/cache";`,
    `import { collect } from "../gc/collect";`,
    `import type { BlobRecord } from "../storage/blobs";`,
    `export interface Core { blob: BlobRecord | null }`,
    `export const core = [cached, collect];`,
  ].join("\n"),
  "proxy/cache.ts": `import { headBlob } from "../storage/blobs";\nexport const cached = headBlob;`,
  "gc/collect.ts": `import { headBlob } from "../storage/blobs";\nexport const collect = headBlob;`,
  "storage/blobs.ts": [
    `import { parseConfig } from "../config/config";`,
    `import { keys } from "./keys";`,
    `import type { MeteredBucket } from "./metered";`,
    `export interface BlobRecord { size: number }`,
    `declare const bucket: MeteredBucket;`,
    `function sizeOf(object: R2Object | null): BlobRecord | null { return object && { size: object.size }; }`,
    `export async function headBlob(digest: string): Promise<BlobRecord | null> {`,
    `  parseConfig();`,
    `  return sizeOf(await bucket.raw.head(keys.blob(digest)));`,
    `}`,
  ].join("\n"),
  "storage/keys.ts": `export const keys = { blob: (digest: string) => \`blobs/\${digest}\` };`,
  "storage/metered.ts": `export class MeteredBucket { constructor(readonly raw: R2Bucket) {} }`,
  "config/config.ts": `import { parseDigest } from "../oci/digest";\nexport function parseConfig() { return parseDigest("sha256:0"); }`,
  "oci/digest.ts": `import { hex } from "../util/hex";\nexport function parseDigest(s: string) { return hex(s); }`,
  "util/hex.ts": `import { RegistryError } from "../errors";\nexport function hex(s: string) { if (!s) throw new RegistryError(); return s; }`,
  "errors.ts": `export class RegistryError extends Error {}`,
};

let trees = 0;
/** A fresh copy of the valid tree with `changes` written over it. */
function tree(changes: Record<string, string> = {}): string {
  const root = join(scratch, `tree-${trees++}`, "src");
  for (const [file, text] of Object.entries({ ...VALID, ...changes })) {
    mkdirSync(dirname(join(root, file)), { recursive: true });
    writeFileSync(join(root, file), `${text}\n`);
  }
  return root;
}

function problemsOf(changes: Record<string, string>, allowlist: readonly AllowlistEntry[] = []): string[] {
  return checkLayers(tree(changes), allowlist).problems;
}

it("passes a tree with one file per rank, each importing only the rank below", () => {
  const report = checkLayers(tree(), []);
  expect(report.problems).toEqual([]);
  expect(report.files).toBe(Object.keys(VALID).length);
});

describe("fails on", () => {
  const cases: [string, Record<string, string>, RegExp][] = [
    [
      "an upward import",
      { "oci/reference.ts": `import { core } from "../registry/core";\nexport const r = core;` },
      /^src\/oci\/reference\.ts:1: upward: oci\/ \(rank 2\) imports registry\/core\.ts \(rank 6\)/,
    ],
    [
      "a sibling import, routes → ui",
      { "routes/html.ts": `import { page } from "../ui/page";\nexport const html = page;` },
      /^src\/routes\/html\.ts:1: sibling: routes\/ imports ui\/page\.ts, but routes\/ and ui\/ share rank 9/,
    ],
    [
      "a sibling import, proxy → gc",
      { "proxy/evict.ts": `import { collect } from "../gc/collect";\nexport const evict = collect;` },
      /^src\/proxy\/evict\.ts:1: sibling: proxy\/ imports gc\/collect\.ts, but proxy\/ and gc\/ share rank 5/,
    ],
    [
      "a sibling import, events → proxy",
      {
        "events/emit.ts": `import { cached } from "../proxy/cache";\nexport const emit = cached;`,
      },
      /^src\/events\/emit\.ts:1: sibling: events\/ imports proxy\/cache\.ts, but events\/ and proxy\/ share rank 5/,
    ],
    [
      "a type-only upward import",
      { "util/typed.ts": `import type { Core } from "../registry/core";\nexport type Seen = Core;` },
      /^src\/util\/typed\.ts:1: upward: util\/ \(rank 1\) imports registry\/core\.ts/,
    ],
    [
      "a type-only re-export upward",
      { "config/types.ts": `export type { Core } from "../registry/core";` },
      /^src\/config\/types\.ts:1: upward: config\/ \(rank 3\) imports registry\/core\.ts/,
    ],
    [
      "a dynamic import upward",
      {
        "storage/late.ts": `export async function late(): Promise<number> {\n  return (await import("../registry/core")).core.length;\n}`,
      },
      /^src\/storage\/late\.ts:2: upward: storage\/ \(rank 4\) imports registry\/core\.ts \(rank 6\)/,
    ],
    [
      "an import(...) type query upward",
      { "config/query.ts": `export type Seen = import("../auth/who").Who;` },
      /^src\/config\/query\.ts:1: upward: config\/ \(rank 3\) imports auth\/who\.ts \(rank 8\)/,
    ],
    [
      "a dynamic import of a computed specifier",
      { "registry/plugin.ts": `export const load = (name: string) => import(\`./\${name}\`);` },
      /^src\/registry\/plugin\.ts:1: computed import: /,
    ],
    [
      "a file cycle inside one folder",
      {
        "registry/a.ts": `import { b } from "./b";\nexport const a = () => b;`,
        "registry/b.ts": `import type { a } from "./a";\nexport const b = 1 as unknown as typeof a;`,
      },
      /^src\/registry\/a\.ts:1: cycle: registry\/a\.ts → registry\/b\.ts → registry\/a\.ts/,
    ],
    [
      "a folder cycle",
      {
        "oci/digest.ts": `import { hex } from "../util/hex";\nimport "../config/config";\nexport const parseDigest = hex;`,
      },
      /^src\/config\/: folder cycle: config\/ → oci\/ → config\//,
    ],
    [
      "ui → storage (a type)",
      { "ui/blob.ts": `import type { BlobRecord } from "../storage/blobs";\nexport type Shown = BlobRecord;` },
      /^src\/ui\/blob\.ts:1: front end below the core: ui\/ imports storage\/blobs\.ts; front ends reach storage\/, proxy\/, gc\/, events\/ only through registry\//,
    ],
    [
      "ui → events",
      {
        "events/emit.ts": `import { headBlob } from "../storage/blobs";\nexport const emit = headBlob;`,
        "ui/activity.ts": `import { emit } from "../events/emit";\nexport const shown = emit;`,
      },
      /^src\/ui\/activity\.ts:1: front end below the core: ui\/ imports events\/emit\.ts/,
    ],
    [
      "routes → gc",
      { "routes/gc.ts": `import { collect } from "../gc/collect";\nexport const run = collect;` },
      /^src\/routes\/gc\.ts:1: front end below the core: routes\/ imports gc\/collect\.ts/,
    ],
    [
      "an R2 type name outside storage",
      { "registry/raw.ts": `export function sizeOf(object: R2ObjectBody): number {\n  return object.size;\n}` },
      /^src\/registry\/raw\.ts:1: R2\/KV outside storage: names R2ObjectBody/,
    ],
    [
      "a KV type name outside storage",
      { "gc/state.ts": `export type Kv = KVNamespaceListResult<unknown>;` },
      /^src\/gc\/state\.ts:1: R2\/KV outside storage: names KVNamespaceListResult/,
    ],
    [
      "the Cache API outside storage",
      { "registry/fast.ts": `export const hit = (url: string) => caches.default.match(url);` },
      /^src\/registry\/fast\.ts:1: R2\/KV outside storage: names caches; only src\/storage\/ touches the edge cache/,
    ],
    [
      "a binding read outside storage",
      { "http/bucket.ts": `export const bucketOf = (c: { env: { REGISTRY: unknown } }) => c.env.REGISTRY;` },
      /^src\/http\/bucket\.ts:1: R2\/KV outside storage: uses env\.REGISTRY/,
    ],
    [
      "a binding destructured outside storage",
      { "http/bucket.ts": `export const bucketOf = ({ UPLOADS }: { UPLOADS: unknown }) => UPLOADS;` },
      /^src\/http\/bucket\.ts:1: R2\/KV outside storage: takes the UPLOADS binding/,
    ],
    [
      "a bucket call outside storage",
      {
        "gc/sweep.ts": `export const sweep = (store: { bucket: { delete(k: string): void } }) => store.bucket.delete("x");`,
      },
      /^src\/gc\/sweep\.ts:1: R2\/KV outside storage: uses \.bucket\.delete\(\)/,
    ],
    [
      "an R2 alias exported by a public storage file and used by the core",
      {
        "storage/objects.ts": `export type Obj = R2Object;`,
        "registry/listing.ts": `import type { Obj } from "../storage/objects";\nexport const keyOf = (o: Obj) => o.key;`,
      },
      /^src\/storage\/objects\.ts:1: R2\/KV in storage's API: exports Obj, which exposes R2Object;/,
    ],
    [
      "an R2 type re-exported by a public storage file",
      { "storage/globals.ts": `export type { R2Object };` },
      /^src\/storage\/globals\.ts:1: R2\/KV in storage's API: exports R2Object, which exposes R2Object;/,
    ],
    [
      "a public storage export that reaches R2 through a storage-private file",
      {
        "storage/handle.ts": `import type { MeteredBucket } from "./metered";\nexport interface Handle {\n  bucket: MeteredBucket;\n}`,
      },
      /^src\/storage\/handle\.ts:2: R2\/KV in storage's API: exports Handle, which exposes R2Bucket \(via MeteredBucket\)/,
    ],
    [
      "a storage-private file (keys.ts) imported from the core",
      { "registry/keyed.ts": `import { keys } from "../storage/keys";\nexport const where = keys.blob("sha256:0");` },
      /^src\/registry\/keyed\.ts:1: storage-private: imports storage\/keys\.ts, which only src\/storage\/ may import/,
    ],
    [
      "a storage-private file re-exported by a public one",
      { "storage/paths.ts": `export { keys } from "./keys";` },
      /^src\/storage\/paths\.ts:1: storage-private: re-exports storage\/keys\.ts/,
    ],
    [
      "an unranked file",
      { "helpers/extra.ts": `export const extra = 1;` },
      /^src\/helpers\/extra\.ts: unranked: in no ranked folder/,
    ],
    [
      "an import of a missing file",
      { "registry/lost.ts": `import { gone } from "./nowhere";\nexport const lost = gone;` },
      /^src\/registry\/lost\.ts:1: missing: imports "\.\/nowhere", which is no file under src\//,
    ],
  ];
  for (const [name, changes, expected] of cases)
    it(name, () => {
      expect(problemsOf(changes)).toContainEqual(expect.stringMatching(expected));
    });
});

describe("the temporary allowlist", () => {
  const uiReadsStorage = {
    "ui/blob.ts": `import type { BlobRecord } from "../storage/blobs";\nexport type B = BlobRecord;`,
  };

  it("exempts exactly the import it names", () => {
    expect(problemsOf(uiReadsStorage, [["ui/blob.ts", "storage/blobs.ts", "being moved"]])).toEqual([]);
    expect(problemsOf(uiReadsStorage, [["ui/page.ts", "storage/blobs.ts", "another file"]])).toContainEqual(
      expect.stringMatching(/^src\/ui\/blob\.ts:1: front end below the core/),
    );
  });

  it("exempts an import that closes a cycle, and keeps it from the cycle search", () => {
    const cycle = {
      "registry/a.ts": `import { b } from "./b";\nexport const a = b;`,
      "registry/b.ts": `import { a } from "./a";\nexport const b = () => a;`,
    };
    expect(problemsOf(cycle, [["registry/b.ts", "registry/a.ts", "being split"]])).toEqual([]);
  });

  it("fails on an entry that no longer matches a problem", () => {
    expect(problemsOf({}, [["ui/page.ts", "storage/blobs.ts", "fixed already"]])).toEqual([
      "scripts/check-layers.ts: stale allowlist entry: ui/page.ts → storage/blobs.ts breaks no rule any more; delete it from TEMPORARY_ALLOWLIST",
    ]);
    expect(problemsOf({}, [["auth/who.ts", "http/context.ts", "a legal import"]])).toContainEqual(
      expect.stringMatching(/stale allowlist entry: auth\/who\.ts → http\/context\.ts/),
    );
  });
});

it("passes the real src/ (with the temporary allowlist)", () => {
  expect(checkLayers(join(REPO, "src")).problems).toEqual([]);
});

describe("npm run check:layers", () => {
  const run = (root?: string) =>
    spawnSync(process.execPath, ["--import", "tsx", "scripts/check-layers.ts", ...(root ? [root] : [])], {
      cwd: REPO,
      encoding: "utf8",
    });

  it("prints a one-line summary and exits 0 on the real src/", () => {
    const result = run();
    expect(result.stderr).toBe("");
    expect(result.stdout).toMatch(/^layers: \d+ files, \d+ imports, \d+ ranks; .*\n$/);
    expect(result.status).toBe(0);
  });

  it("prints one line per problem and exits 1", () => {
    const result = run(tree({ "routes/gc.ts": `import { collect } from "../gc/collect";\nexport const c = collect;` }));
    expect(result.stderr.split("\n")[0]).toMatch(/^src\/routes\/gc\.ts:1: front end below the core: /);
    expect(result.stderr).toContain("1 layering problem(s)");
    expect(result.status).toBe(1);
  });
});
