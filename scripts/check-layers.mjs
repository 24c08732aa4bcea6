#!/usr/bin/env node
// Checks the layering of src/ (shared/STYLE.md: routes → registry core → storage → oci):
// no import runs up the layers, routes reach storage only through the core, no import cycle,
// and only src/storage/ names an R2 or KV type or calls the bucket or the namespace.
// `npm run check:layers`; CI runs it. Hand-written (about 100 lines, Node only) rather than a
// dependency: the rules are this project's own, and the import syntax used here is plain.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const ROOT = resolve(dirname(new URL(import.meta.url).pathname), "..");
const SRC = join(ROOT, "src");

/** Higher imports lower, never the reverse. The first matching prefix wins. */
const LAYERS = [
  ["index.ts", 4],
  ["app.ts", 4],
  ["routes/", 3],
  ["ui/", 3],
  ["auth/", 2],
  ["registry/", 2],
  ["proxy/", 2],
  ["gc/", 2],
  ["config.ts", 2],
  ["app-env.ts", 2],
  ["request-body.ts", 2],
  ["storage/", 1],
  ["oci/", 0],
  ["util/", 0],
  ["errors.ts", 0],
];
/** Routes render what the core returns: they never call storage, the cache or the collector. */
const ROUTES_MAY_NOT_IMPORT = ["storage/", "proxy/", "gc/"];
const STORAGE_ONLY =
  /\b(R2Bucket|KVNamespace|R2Object|R2ObjectBody|R2MultipartUpload|R2UploadedPart)\b|\.(bucket|kv)\.\w+\(|\benv\.(REGISTRY|UPLOADS)\b/;

function files(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name)) : /\.tsx?$/.test(e.name) ? [join(dir, e.name)] : [],
  );
}

function layerOf(file) {
  const rel = relative(SRC, file);
  const entry = LAYERS.find(([prefix]) => rel === prefix || rel.startsWith(prefix));
  return entry ? entry[1] : null;
}

/** Relative imports and re-exports of a file, resolved to .ts (or, for the web UI's JSX,
 *  .tsx) paths. */
function importsOf(file) {
  const text = readFileSync(file, "utf8");
  const out = [];
  for (const m of text.matchAll(/^\s*(?:import|export)\b[^;]*?\bfrom\s+"(\.{1,2}\/[^"]+)"/gms)) {
    const base = resolve(dirname(file), m[1]);
    out.push(existsSync(`${base}.tsx`) ? `${base}.tsx` : `${base}.ts`);
  }
  return out;
}

const problems = [];
const all = files(SRC).filter((f) => !f.endsWith(".d.ts"));
const graph = new Map(all.map((f) => [f, importsOf(f)]));

for (const [file, targets] of graph) {
  const rel = relative(SRC, file);
  const layer = layerOf(file);
  if (layer === null) problems.push(`${rel}: not in the layer table of scripts/check-layers.mjs`);
  for (const target of targets) {
    const to = relative(SRC, target);
    if (!graph.has(target)) problems.push(`${rel}: imports ${to}, which does not exist`);
    const targetLayer = layerOf(target);
    if (layer !== null && targetLayer !== null && targetLayer > layer)
      problems.push(`${rel} → ${to}: runs up the layers`);
    if (rel.startsWith("routes/") && ROUTES_MAY_NOT_IMPORT.some((p) => to.startsWith(p)))
      problems.push(`${rel} → ${to}: routes call the core, not ${to.split("/")[0]}/`);
  }
  if (!rel.startsWith("storage/")) {
    readFileSync(file, "utf8")
      .split("\n")
      .forEach((line, i) => {
        if (!line.trim().startsWith("//") && STORAGE_ONLY.test(line))
          problems.push(`${rel}:${i + 1}: R2/KV outside src/storage/: ${line.trim()}`);
      });
  }
}

// Cycles: depth-first search, reporting each cycle once by its path.
const state = new Map();
function visit(file, stack) {
  state.set(file, "open");
  stack.push(file);
  for (const next of graph.get(file) ?? []) {
    if (state.get(next) === "open")
      problems.push(`cycle: ${[...stack.slice(stack.indexOf(next)), next].map((f) => relative(SRC, f)).join(" → ")}`);
    else if (!state.has(next) && graph.has(next)) visit(next, stack);
  }
  stack.pop();
  state.set(file, "done");
}
for (const file of graph.keys()) if (!state.has(file)) visit(file, []);

if (problems.length > 0) {
  console.error(problems.join("\n"));
  console.error(`${problems.length} layering problem(s)`);
  process.exit(1);
}
console.log(
  `layers: ${graph.size} files, ${[...graph.values()].reduce((n, t) => n + t.length, 0)} imports, no upward edge, no cycle, R2/KV only in src/storage/`,
);
