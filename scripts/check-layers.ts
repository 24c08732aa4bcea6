// Checks the layering of src/: every file has a rank, an import that leaves its folder goes
// strictly down the ranks (same-rank siblings never import each other), no import cycle
// between files or between folders, front ends reach storage, the pull-through cache and the
// collector only through the core, keys.ts and the other storage-private files are imported
// only inside src/storage/, and R2/KV stay inside src/storage/: by name, by binding, and
// through what storage exports. `npm run check:layers`; CI runs it;
// test/e2e/check-layers.test.ts shows it failing on each kind of violation.
//
// The source is parsed by oxc-parser, so an import counts however it is written (`import
// type`, `export … from`, `import("…")`, `import("…").T`) and comments or strings never
// count. The rules are written here by hand: the parser is a library, the rules are this
// project's own. scripts/layers/ holds the parts: source.ts reads a file, storage-api.ts
// follows names through storage's exports, cycles.ts searches the graph.
import { readdirSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Problem } from "./layers/ast";
import { cyclesOf, graphOf, reaches } from "./layers/cycles";
import { type Import, readSource, type SourceFacts } from "./layers/source";
import { storageApiProblems } from "./layers/storage-api";

/** Higher ranks import lower ones. A folder (or top-level file) is one unit: inside it
 *  imports are free, apart from cycles. */
const RANKS: ReadonlyMap<string, number> = new Map([
  ["index.ts", 11], // the Worker entry
  ["app.ts", 10], // the hono app: middleware, mounts the front ends
  ["routes/", 9], // front end: the OCI API
  ["ui/", 9], // front end: the web UI
  ["auth/", 8], // credentials → Identity, middleware, token endpoint
  ["http/", 7], // hono context types, bounded bodies, request deps
  ["registry/", 6], // the core: one home per rule
  ["proxy/", 5], // the pull-through cache the core calls
  ["gc/", 5], // the collector the core calls
  ["events/", 5], // events and webhooks the core emits
  ["storage/", 4], // the only code touching R2/KV
  ["config/", 3], // pure parsers of the Worker's variables
  ["oci/", 2], // pure OCI grammar
  ["util/", 1], // pure helpers
  ["errors.ts", 0], // RegistryError
]);

/** Front ends call the core; they never reach below it to these. */
const FRONT_ENDS = new Set(["routes/", "ui/"]);
const BEHIND_THE_CORE = new Set(["storage/", "proxy/", "gc/", "events/"]);

/** Storage modules only storage's own files may import: keys.ts builds every key; metered.ts
 *  and list.ts hand out the bucket and its listings, so their exports name R2 types;
 *  object-version.ts opens the collector's opaque versions. */
const STORAGE_PRIVATE = new Set([
  "storage/bindings.ts",
  "storage/keys.ts",
  "storage/metered.ts",
  "storage/list.ts",
  "storage/object-version.ts",
]);

/** `[file, imported file or R2/KV name, why it is still here]`, paths relative to src/. */
export type AllowlistEntry = readonly [from: string, to: string, reason: string];

// TEMPORARY: the violations on main when this check was written, fixed since; it is empty,
// and every rule holds on src/ without exception. An entry would exempt exactly one import
// (file → imported file) from every rule, cycles included, or one file → name pair from the
// R2/KV rules, and an entry that no longer matches a problem is itself a problem, so the
// list can only shrink. Do not add to it: fix the import instead.
const TEMPORARY_ALLOWLIST: readonly AllowlistEntry[] = [];

/** Where the allowlist lives: stale entries are reported against it. */
const SELF = "scripts/check-layers.ts";
const SOURCE = /\.(ts|tsx|mts|cts)$/;

export interface LayerReport {
  /** One line per problem: `src/<file>:<line>: <rule>: <what is wrong; what to do>`. */
  problems: string[];
  files: number;
  imports: number;
}

/** Checks the tree under `root` (src/, or a test's); the allowlist is src/'s by default. */
export function checkLayers(root: string, allowlist: readonly AllowlistEntry[] = TEMPORARY_ALLOWLIST): LayerReport {
  const files = listFiles(root);
  const known = new Set(files);
  const sources = new Map<string, SourceFacts>();
  const problems: Problem[] = [];
  for (const file of files) {
    if (unitOf(file) === null)
      problems.push({
        file,
        line: null,
        rule: "unranked",
        text: `in no ranked folder; move it into one, or give its folder a rank in ${SELF}`,
        key: null,
      });
    if (!SOURCE.test(file)) continue;
    const source = readSource(root, file, known);
    sources.set(file, source);
    problems.push(...source.problems);
  }
  const imports = [...sources.values()].flatMap((s) => s.imports);
  const apis = new Map([...sources].flatMap(([file, s]) => (s.api === null ? [] : [[file, s.api] as const])));
  problems.push(...imports.flatMap(importProblems), ...storageApiProblems(apis, (f) => STORAGE_PRIVATE.has(f)));

  const allowed = new Set(allowlist.map(([from, to]) => `${from} → ${to}`));
  const exempt = (i: Import) => allowed.has(`${i.from} → ${i.to}`);
  problems.push(...cycleProblems(imports.filter((i) => !exempt(i))));
  const used = new Set(problems.flatMap((p) => (p.key !== null && allowed.has(p.key) ? [p.key] : [])));
  const graph = fileGraph(imports);
  for (const i of imports)
    if (exempt(i) && i.to !== null && reaches(graph, i.to, i.from)) used.add(`${i.from} → ${i.to}`);
  const remaining = problems.filter((p) => p.key === null || !allowed.has(p.key));
  for (const key of allowed)
    if (!used.has(key))
      remaining.push({
        file: SELF,
        line: null,
        rule: "stale allowlist entry",
        text: `${key} breaks no rule any more; delete it from TEMPORARY_ALLOWLIST`,
        key: null,
      });
  return { problems: remaining.map(format), files: files.length, imports: imports.length };
}

function format(p: Problem): string {
  return `${p.file === SELF ? SELF : `src/${p.file}`}${p.line === null ? "" : `:${p.line}`}: ${p.rule}: ${p.text}`;
}

function listFiles(root: string, dir = root): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? listFiles(root, join(dir, e.name)) : [relative(root, join(dir, e.name))]))
    .map((f) => f.split("\\").join("/"))
    .sort();
}

/** The folder (`registry/`) or top-level file (`app.ts`) a file belongs to, if ranked. */
function unitOf(file: string): string | null {
  const slash = file.indexOf("/");
  const unit = slash === -1 ? file : file.slice(0, slash + 1);
  return RANKS.has(unit) ? unit : null;
}

/** The rules one import can break: missing, upward, sibling, front end, storage-private. */
function importProblems(i: Import): Problem[] {
  const at = { file: i.from, line: i.line, key: `${i.from} → ${i.to}` };
  if (i.to === null)
    return [
      {
        ...at,
        key: null,
        rule: "missing",
        text: `imports "${i.specifier}", which is no file under src/; fix the path`,
      },
    ];
  const from = unitOf(i.from);
  const to = unitOf(i.to);
  const out: Problem[] = [];
  if (from !== null && to !== null && from !== to) {
    const fromRank = RANKS.get(from) ?? 0;
    const toRank = RANKS.get(to) ?? 0;
    if (toRank > fromRank)
      out.push({
        ...at,
        rule: "upward",
        text: `${from} (rank ${fromRank}) imports ${i.to} (rank ${toRank}); imports go strictly down: move what both need down, or have the higher rank pass it in`,
      });
    else if (toRank === fromRank)
      out.push({
        ...at,
        rule: "sibling",
        text: `${from} imports ${i.to}, but ${from} and ${to} share rank ${toRank} and never import each other; move what both need down a rank`,
      });
    if (FRONT_ENDS.has(from) && BEHIND_THE_CORE.has(to))
      out.push({
        ...at,
        rule: "front end below the core",
        text: `${from} imports ${i.to}; front ends reach ${[...BEHIND_THE_CORE].join(", ")} only through registry/`,
      });
  }
  const inStorage = i.from.startsWith("storage/");
  if (STORAGE_PRIVATE.has(i.to) && !inStorage)
    out.push({
      ...at,
      rule: "storage-private",
      text: `imports ${i.to}, which only src/storage/ may import; call a storage function that returns a record`,
    });
  if (STORAGE_PRIVATE.has(i.to) && i.reexport && inStorage && !STORAGE_PRIVATE.has(i.from))
    out.push({
      ...at,
      rule: "storage-private",
      text: `re-exports ${i.to}, which is private to src/storage/; export a function in registry terms instead`,
    });
  return out;
}

function fileGraph(imports: Import[]): Map<string, Set<string>> {
  return graphOf(imports.flatMap((i) => (i.to === null ? [] : [[i.from, i.to] as const])));
}

/** File cycles (anywhere) and folder cycles, one line per strongly connected component. */
function cycleProblems(imports: Import[]): Problem[] {
  const firstLine = new Map<string, number>();
  for (const i of imports) if (!firstLine.has(`${i.from} → ${i.to}`)) firstLine.set(`${i.from} → ${i.to}`, i.line);
  const folderEdges = imports.flatMap((i) => {
    const from = unitOf(i.from);
    const to = i.to === null ? null : unitOf(i.to);
    return from !== null && to !== null && from !== to ? [[from, to] as const] : [];
  });
  const out: Problem[] = [];
  for (const cycle of cyclesOf(fileGraph(imports)))
    out.push({
      file: cycle[0] ?? "",
      line: firstLine.get(`${cycle[0]} → ${cycle[1]}`) ?? null,
      rule: "cycle",
      text: `${cycle.join(" → ")}; move what they share into a file both import`,
      key: null,
    });
  for (const cycle of cyclesOf(graphOf(folderEdges)))
    out.push({
      file: cycle[0] ?? "",
      line: null,
      rule: "folder cycle",
      text: `${cycle.join(" → ")}; the upward import in it breaks the ranks`,
      key: null,
    });
  return out;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  // Another tree (the test's) is checked without the allowlist, which describes src/.
  const [root] = process.argv.slice(2);
  const report = root
    ? checkLayers(resolve(root), [])
    : checkLayers(join(dirname(fileURLToPath(import.meta.url)), "..", "src"));
  if (report.problems.length > 0) {
    console.error(report.problems.join("\n"));
    console.error(`${report.problems.length} layering problem(s)`);
    process.exit(1);
  }
  console.log(
    `layers: ${report.files} files, ${report.imports} imports, ${new Set(RANKS.values()).size} ranks; every import goes down, no cycle, front ends above the core, R2/KV only inside src/storage/ (${root ? 0 : TEMPORARY_ALLOWLIST.length} temporary allowlist entries)`,
  );
}
