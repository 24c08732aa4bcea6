// Checks the layering of src/: every file has a rank, an import that leaves its folder goes
// strictly down the ranks (same-rank siblings never import each other), no import cycle
// between files or folders, front ends reach storage, the pull-through cache and the collector
// only through the core, and R2/KV stay inside src/storage/ (by name, by binding, and through
// what storage exports). `npm run check:layers`; CI runs it; test/e2e/check-layers.test.ts
// shows it failing on each kind of violation.
//
// The source is parsed by oxc-parser, so imports are seen however they are written (`import
// type`, `export ... from`, `import("...")`, `import("...").T`) and comments or strings never
// count. The rules themselves are written here by hand: the parser is a library, the rules
// are this project's own.
//
// Limit: it sees names, not inferred types. A storage function whose return type is left to
// inference can still hand an R2 object upward; the `.bucket.`/`.kv.` and R2-name rules catch
// most uses of one outside storage.
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { type Node, parseSync } from "oxc-parser";

/** Higher ranks import lower ones. A folder (or top-level file) is one unit: inside it imports
 *  are free, apart from cycles. */
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
  ["storage/", 4], // the only code touching R2/KV
  ["config/", 3], // pure parsers of the Worker's variables
  ["oci/", 2], // pure OCI grammar
  ["util/", 1], // pure helpers
  ["errors.ts", 0], // RegistryError
]);

/** Front ends call the core; they never reach below it to these. */
const FRONT_ENDS = new Set(["routes/", "ui/"]);
const BEHIND_THE_CORE = new Set(["storage/", "proxy/", "gc/"]);

/** Storage modules that only storage's siblings may import: they build keys or hand out the
 *  bucket itself, so they may name R2/KV types in what they export. */
const STORAGE_PRIVATE = new Set(["storage/keys.ts", "storage/metered.ts", "storage/list.ts"]);

// TEMPORARY: the violations on main when this check was written, each being fixed. An entry
// exempts exactly one import (file → imported file) from every rule, cycles included, or one
// file → name pair from the R2/KV rules. An entry that no longer matches a problem is itself a
// problem, so the list can only shrink. Do not add to it: fix the import instead.
const TEMPORARY_ALLOWLIST: readonly AllowlistEntry[] = [
  // Front ends below the core: page data and sessions are to come from registry/.
  ["routes/blobs.ts", "proxy/blobs.ts", "UpstreamBlob type: the core is to return the blob it serves"],
  ["ui/components.tsx", "gc/reports.ts", "HeldByGrace type: collector reports are to come through the core"],
  ["ui/data.ts", "gc/reports.ts", "reads collector reports directly"],
  ["ui/data.ts", "storage/storage.ts", "Storage type: page data is to come from core functions"],
  ["ui/data.ts", "storage/blob-data.ts", "reads blob data directly"],
  ["ui/data.ts", "storage/blobs.ts", "reads blob links directly"],
  ["ui/data.ts", "storage/browse.ts", "lists tags and upload sessions directly"],
  ["ui/data.ts", "storage/manifests.ts", "reads manifests, tags and referrers directly"],
  ["ui/data.ts", "storage/repositories.ts", "checks repository existence directly"],
  ["ui/data.ts", "storage/uploads.ts", "UploadState type: upload sessions are to come from the core"],
  ["ui/data.ts", "storage/usage.ts", "reads usage records directly"],
  ["ui/pages/repository.tsx", "storage/usage.ts", "RepositoryUsage type: usage is to come from the core"],
  ["ui/routes.tsx", "storage/deps.ts", "Deps type: the UI is to share the API's request deps"],
  ["ui/session.ts", "storage/sessions.ts", "browser sessions are to be stored through auth/ and the core"],
  // keys.ts is private to storage/: callers are to get records, not keys.
  ["gc/record-sweep.ts", "storage/keys.ts", "digestFromKeySuffix: the collector parses keys it listed"],
  ["gc/repository-scan.ts", "storage/keys.ts", "digestFromKeySuffix: the collector parses keys it listed"],
  ["gc/repository-sweep.ts", "storage/keys.ts", "digestFromKeySuffix: the collector parses keys it listed"],
  ["proxy/blobs.ts", "storage/keys.ts", "keys.blobData: the cache fill names the data object itself"],
  ["registry/ingest.ts", "storage/keys.ts", "keys.blobData: ingest names the data object itself"],
  ["registry/uploads.ts", "storage/keys.ts", "keys.blobData: uploads name the data object themselves"],
  // Storage's exported API still hands out R2 objects and the bucket.
  ["storage/storage.ts", "Storage", "public bucket and kv members: storage modules reach R2 through them"],
  ["storage/storage.ts", "StorageBindings", "the Worker bindings openStorage() is built from"],
  ["storage/collector.ts", "StoredObject", "an alias of R2Object the collector judges and condemns"],
  ["storage/condemn.ts", "condemn", "takes and returns the R2Object being condemned"],
  ["storage/condemn.ts", "pardon", "takes the condemned R2Object"],
  ["storage/condemn.ts", "headSettled", "returns an R2Object"],
  ["storage/condemn.ts", "putUnlessCondemned", "takes R2PutOptions"],
  ["storage/blob-data.ts", "UploadedPart", "an alias of R2UploadedPart kept in upload state"],
  ["storage/uploads.ts", "UploadState", "keeps R2UploadedPart[] parts"],
];

/** `[file, imported file or R2/KV name, why it is still here]`, paths relative to src/. */
export type AllowlistEntry = readonly [from: string, to: string, reason: string];

/** Where the allowlist lives: stale entries are reported against it. */
const SELF = "scripts/check-layers.ts";

const R2_KV_NAME = /^(R2[A-Z]\w*|KVNamespace\w*)$/;
const BINDINGS = new Set(["REGISTRY", "UPLOADS"]);
const BINDING_OBJECTS = new Set(["bucket", "kv"]);
const SOURCE = /\.(ts|tsx|mts|cts)$/;

export interface LayerReport {
  /** One line per problem: `src/<file>:<line>: <rule>: <what is wrong; what to do>`. */
  problems: string[];
  files: number;
  imports: number;
}

interface Problem {
  file: string;
  line: number | null;
  rule: string;
  text: string;
  /** `from → to`: what an allowlist entry must say to exempt it; null when none can. */
  key: string | null;
}

interface Import {
  from: string;
  /** The imported file relative to the source root; null when it resolves to none. */
  to: string | null;
  specifier: string;
  line: number;
  reexport: boolean;
}

/** A type reference in an exported signature: a top-level name, `ns.Name`, or a name in a
 *  module (`import("./m").Name`). */
type Ref = { name: string; member?: string } | { file: string | null; name: string };

interface Declaration {
  line: number;
  /** The first R2/KV name the declaration's public part spells out. */
  direct: string | null;
  refs: Ref[];
}

interface Exported {
  line: number;
  local?: string;
  from?: { file: string | null; name: string };
}

/** What a storage file declares, imports and exports, for following R2/KV types through it. */
interface StorageApi {
  declared: Map<string, Declaration>;
  bindings: Map<string, { file: string | null; name: string }>;
  exported: Map<string, Exported>;
  starFrom: (string | null)[];
}

interface FileFacts {
  imports: Import[];
  problems: Problem[];
  api: StorageApi | null;
}

export function checkLayers(root: string, allowlist: readonly AllowlistEntry[] = TEMPORARY_ALLOWLIST): LayerReport {
  const files = listFiles(root);
  const known = new Set(files);
  const problems: Problem[] = [];
  const facts = new Map<string, FileFacts>();
  for (const file of files) {
    if (unitOf(file) === null)
      problems.push({
        file,
        line: null,
        rule: "unranked",
        text: "in no ranked folder; move it into one, or give its folder a rank in scripts/check-layers.ts",
        key: null,
      });
    if (!SOURCE.test(file)) continue;
    const fileFacts = readFacts(root, file, known);
    facts.set(file, fileFacts);
    problems.push(...fileFacts.problems);
  }
  const imports = [...facts.values()].flatMap((f) => f.imports);
  const allowed = new Map(allowlist.map((entry) => [`${entry[0]} → ${entry[1]}`, entry]));
  const edgeProblems = imports.flatMap(importProblems);
  problems.push(...edgeProblems, ...storageApiProblems(facts));
  const exempt = (i: Import) => allowed.has(`${i.from} → ${i.to}`);
  problems.push(...cycleProblems(imports.filter((i) => !exempt(i))));
  const used = new Set(problems.flatMap((p) => (p.key !== null && allowed.has(p.key) ? [p.key] : [])));
  for (const i of imports) if (exempt(i) && onCycle(i, imports)) used.add(`${i.from} → ${i.to}`);
  const remaining = problems.filter((p) => p.key === null || !allowed.has(p.key));
  for (const [key] of allowed)
    if (!used.has(key))
      remaining.push({
        file: SELF,
        line: null,
        rule: "stale allowlist entry",
        text: `${key} breaks no rule any more; delete it from TEMPORARY_ALLOWLIST`,
        key: null,
      });
  return {
    problems: remaining.map(
      (p) => `${p.file === SELF ? SELF : `src/${p.file}`}${p.line === null ? "" : `:${p.line}`}: ${p.rule}: ${p.text}`,
    ),
    files: files.length,
    imports: imports.length,
  };
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

function readFacts(root: string, file: string, known: Set<string>): FileFacts {
  const text = readFileSync(join(root, file), "utf8");
  const parsed = parseSync(file, text);
  const lineOf = lineFinder(text);
  const problems: Problem[] = parsed.errors.map((e) => ({
    file,
    line: e.labels[0] ? lineOf(e.labels[0].start) : null,
    rule: "parse",
    text: `${e.message}; the check reads only code that parses`,
    key: null,
  }));
  const imports: Import[] = [];
  const resolveSpecifier = (specifier: string) => resolveImport(root, file, specifier, known);
  const addImport = (specifier: string, at: number, reexport = false) => {
    if (specifier.startsWith("."))
      imports.push({ from: file, to: resolveSpecifier(specifier), specifier, line: lineOf(at), reexport });
  };
  const outsideStorage = !file.startsWith("storage/");
  walk(parsed.program, (node, parent) => {
    switch (node.type) {
      case "ImportDeclaration":
        addImport(node.source.value, node.start);
        break;
      case "ExportNamedDeclaration":
      case "ExportAllDeclaration":
        if (node.source) addImport(node.source.value, node.start, true);
        break;
      case "TSImportType":
        addImport(node.source.value, node.start);
        break;
      case "TSExternalModuleReference":
        addImport(node.expression.value, node.start);
        break;
      case "ImportExpression": {
        const specifier = literalText(node.source);
        if (specifier !== null) addImport(specifier, node.start);
        else
          problems.push({
            file,
            line: lineOf(node.start),
            rule: "computed import",
            text: "import() of a computed specifier cannot be ranked; import a string literal",
            key: null,
          });
        break;
      }
      case "Identifier":
        if (outsideStorage && R2_KV_NAME.test(node.name))
          problems.push({
            file,
            line: lineOf(node.start),
            rule: "R2/KV outside storage",
            text: `names ${node.name}; only src/storage/ names R2/KV types: use the record storage returns`,
            key: `${file} → ${node.name}`,
          });
        break;
      case "MemberExpression":
        if (outsideStorage) {
          const used = bindingUse(node, parent);
          if (used !== null)
            problems.push({
              file,
              line: lineOf(node.start),
              rule: "R2/KV outside storage",
              text: `uses ${used}; only src/storage/ touches the bucket or the namespace: call a storage function`,
              key: `${file} → ${used}`,
            });
        }
        break;
      case "Property":
        if (outsideStorage && parent?.type === "ObjectPattern" && BINDINGS.has(propertyName(node.key) ?? ""))
          problems.push({
            file,
            line: lineOf(node.start),
            rule: "R2/KV outside storage",
            text: `takes the ${propertyName(node.key)} binding; only src/storage/ touches the bucket or the namespace`,
            key: `${file} → ${propertyName(node.key)}`,
          });
        break;
    }
  });
  const api = file.startsWith("storage/") ? storageApiOf(parsed.program, lineOf, resolveSpecifier) : null;
  return { imports, problems, api };
}

function walk(node: Node, visit: (node: Node, parent: Node | null) => void, parent: Node | null = null): void {
  visit(node, parent);
  for (const value of Object.values(node))
    for (const child of Array.isArray(value) ? value : [value]) if (isNode(child)) walk(child, visit, node);
}

function isNode(value: unknown): value is Node {
  return typeof value === "object" && value !== null && typeof (value as { type?: unknown }).type === "string";
}

function lineFinder(text: string): (offset: number) => number {
  const starts = [0];
  for (let i = text.indexOf("\n"); i !== -1; i = text.indexOf("\n", i + 1)) starts.push(i + 1);
  return (offset) => {
    let low = 0;
    let high = starts.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if ((starts[mid] ?? 0) <= offset) low = mid;
      else high = mid - 1;
    }
    return low + 1;
  };
}

function literalText(node: Node): string | null {
  if (node.type === "Literal" && typeof node.value === "string") return node.value;
  if (node.type === "TemplateLiteral" && node.expressions.length === 0) return node.quasis[0]?.value.cooked ?? null;
  return null;
}

function propertyName(node: Node): string | null {
  if (node.type === "Identifier") return node.name;
  return literalText(node);
}

/** `env.REGISTRY`, `c.env.UPLOADS`, or a call on `….bucket` / `….kv`. */
function bindingUse(node: Node, parent: Node | null): string | null {
  if (node.type !== "MemberExpression") return null;
  const name = node.computed ? literalText(node.property) : propertyName(node.property);
  const object = node.object;
  const objectName =
    object.type === "Identifier"
      ? object.name
      : object.type === "MemberExpression"
        ? propertyName(object.property)
        : null;
  if (name !== null && BINDINGS.has(name) && objectName === "env") return `env.${name}`;
  if (objectName !== null && BINDING_OBJECTS.has(objectName) && parent?.type === "CallExpression")
    return parent.callee === node ? `.${objectName}.${name}()` : null;
  return null;
}

/** The file under the root a relative specifier names (TypeScript's lookup: as written, then
 *  with .ts/.tsx, then as a folder's index), or null. */
function resolveImport(root: string, from: string, specifier: string, known: Set<string>): string | null {
  const base = relative(root, resolve(root, dirname(from), specifier))
    .split("\\")
    .join("/");
  const stem = base.replace(/\.js$/, "");
  const candidates = [base, `${stem}.ts`, `${stem}.tsx`, `${base}/index.ts`, `${base}/index.tsx`];
  return candidates.find((c) => known.has(c)) ?? null;
}

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
  if (STORAGE_PRIVATE.has(i.to) && !i.from.startsWith("storage/"))
    out.push({
      ...at,
      rule: "storage-private",
      text: `imports ${i.to}, which only src/storage/ may import; call a storage function that returns a record`,
    });
  if (STORAGE_PRIVATE.has(i.to) && i.reexport && i.from.startsWith("storage/") && !STORAGE_PRIVATE.has(i.from))
    out.push({
      ...at,
      rule: "storage-private",
      text: `re-exports ${i.to}, which is private to src/storage/; export a function in registry terms instead`,
    });
  return out;
}

/** File cycles (anywhere) and folder cycles, one line per strongly connected component. */
function cycleProblems(imports: Import[]): Problem[] {
  const fileGraph = graphOf(imports.flatMap((i) => (i.to === null ? [] : [[i.from, i.to] as const])));
  const unitEdges = imports.flatMap((i) => {
    const from = unitOf(i.from);
    const to = i.to === null ? null : unitOf(i.to);
    return from !== null && to !== null && from !== to ? [[from, to] as const] : [];
  });
  const lineOf = new Map(imports.map((i) => [`${i.from} → ${i.to}`, i.line]));
  const out: Problem[] = [];
  for (const cycle of cyclesOf(fileGraph))
    out.push({
      file: cycle[0] ?? "",
      line: lineOf.get(`${cycle[0]} → ${cycle[1]}`) ?? null,
      rule: "cycle",
      text: `${cycle.join(" → ")}; move what they share into a file both import`,
      key: null,
    });
  for (const cycle of cyclesOf(graphOf(unitEdges)))
    out.push({
      file: cycle[0] ?? "",
      line: null,
      rule: "folder cycle",
      text: `${cycle.join(" → ")}; the upward import in it breaks the ranks`,
      key: null,
    });
  return out;
}

function graphOf(edges: readonly (readonly [string, string])[]): Map<string, Set<string>> {
  const graph = new Map<string, Set<string>>();
  for (const [from, to] of edges) {
    if (!graph.has(from)) graph.set(from, new Set());
    if (!graph.has(to)) graph.set(to, new Set());
    graph.get(from)?.add(to);
  }
  return graph;
}

/** One cycle through each strongly connected component that has one (Tarjan's algorithm),
 *  as the path `a, b, …, a`. */
function cyclesOf(graph: Map<string, Set<string>>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const connect = (node: string) => {
    index.set(node, index.size);
    low.set(node, index.get(node) ?? 0);
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!index.has(next)) {
        connect(next);
        low.set(node, Math.min(low.get(node) ?? 0, low.get(next) ?? 0));
      } else if (onStack.has(next)) low.set(node, Math.min(low.get(node) ?? 0, index.get(next) ?? 0));
    }
    if (low.get(node) !== index.get(node)) return;
    const component = new Set<string>();
    for (let top = stack.pop(); top !== undefined; top = top === node ? undefined : stack.pop()) {
      onStack.delete(top);
      component.add(top);
    }
    if (component.size > 1 || graph.get(node)?.has(node)) cycles.push(pathBack(graph, node, component));
  };
  for (const node of [...graph.keys()].sort()) if (!index.has(node)) connect(node);
  return cycles;
}

/** The shortest path from start back to itself inside its component (breadth first). */
function pathBack(graph: Map<string, Set<string>>, start: string, component: Set<string>): string[] {
  const previous = new Map<string, string>();
  const queue = [start];
  for (let at = queue.shift(); at !== undefined; at = queue.shift()) {
    for (const next of graph.get(at) ?? []) {
      if (!component.has(next)) continue;
      if (next === start) {
        const path = [at];
        for (let step = previous.get(at); step !== undefined; step = previous.get(step)) path.unshift(step);
        return [...path, start];
      }
      if (!previous.has(next)) {
        previous.set(next, at);
        queue.push(next);
      }
    }
  }
  return [start, start];
}

/** Whether an import closes a cycle: its target reaches back to the importing file. */
function onCycle(edge: Import, imports: Import[]): boolean {
  const graph = graphOf(imports.flatMap((i) => (i.to === null ? [] : [[i.from, i.to] as const])));
  const seen = new Set<string>();
  const pending = edge.to === null ? [] : [edge.to];
  for (let at = pending.pop(); at !== undefined; at = pending.pop()) {
    if (at === edge.from) return true;
    if (seen.has(at)) continue;
    seen.add(at);
    pending.push(...(graph.get(at) ?? []));
  }
  return false;
}

/** What a storage file declares and exports, with the type names each declaration's public
 *  part refers to: its whole body for a type or interface, the signature for a function, the
 *  non-private members for a class, the annotation for a variable. */
function storageApiOf(
  program: Node,
  lineOf: (offset: number) => number,
  resolveSpecifier: (specifier: string) => string | null,
): StorageApi {
  const api: StorageApi = { declared: new Map(), bindings: new Map(), exported: new Map(), starFrom: [] };
  const declare: Declare = (name, at, parts, superClass) => {
    const found = referencesIn(parts, resolveSpecifier, superClass);
    const earlier = api.declared.get(name);
    api.declared.set(name, {
      line: earlier?.line ?? lineOf(at),
      direct: earlier?.direct ?? found.direct,
      refs: [...(earlier?.refs ?? []), ...found.refs],
    });
  };
  const exportLocal = (exported: string, local: string, at: number) =>
    api.exported.set(exported, { line: lineOf(at), local });
  if (program.type !== "Program") return api;
  for (const statement of program.body) {
    switch (statement.type) {
      case "ImportDeclaration": {
        const file = resolveSpecifier(statement.source.value);
        for (const s of statement.specifiers) {
          const name =
            s.type === "ImportSpecifier"
              ? (propertyName(s.imported) ?? "")
              : s.type === "ImportDefaultSpecifier"
                ? "default"
                : "*";
          api.bindings.set(s.local.name, { file, name });
        }
        break;
      }
      case "ExportNamedDeclaration":
        if (statement.declaration)
          for (const name of declareStatement(statement.declaration, declare)) exportLocal(name, name, statement.start);
        for (const s of statement.specifiers) {
          const local = propertyName(s.local) ?? "";
          const exported = propertyName(s.exported) ?? local;
          if (statement.source)
            api.exported.set(exported, {
              line: lineOf(s.start),
              from: { file: resolveSpecifier(statement.source.value), name: local },
            });
          else exportLocal(exported, local, s.start);
        }
        break;
      case "ExportDefaultDeclaration": {
        const d = statement.declaration;
        if (d.type === "Identifier") exportLocal("default", d.name, statement.start);
        else if (
          d.type === "FunctionDeclaration" ||
          d.type === "ClassDeclaration" ||
          d.type === "TSInterfaceDeclaration"
        )
          for (const name of declareStatement(d, declare, "default")) exportLocal("default", name, statement.start);
        break;
      }
      case "ExportAllDeclaration":
        if (statement.exported === null) api.starFrom.push(resolveSpecifier(statement.source.value));
        break;
      default:
        declareStatement(statement, declare);
    }
  }
  return api;
}

type Declare = (name: string, at: number, parts: (Node | null | undefined)[], superClass?: Node | null) => void;

/** Declares the names a top-level statement binds, with their public parts; returns them. */
function declareStatement(node: Node, declare: Declare, anonymous?: string): string[] {
  switch (node.type) {
    case "TSTypeAliasDeclaration":
    case "TSInterfaceDeclaration":
      declare(node.id.name, node.start, [node]);
      return [node.id.name];
    case "TSEnumDeclaration":
      declare(node.id.name, node.start, []);
      return [node.id.name];
    case "FunctionDeclaration":
    case "TSDeclareFunction": {
      const name = node.id?.name ?? anonymous;
      if (name === undefined) return [];
      declare(name, node.start, [node.typeParameters, ...node.params, node.returnType]);
      return [name];
    }
    case "ClassDeclaration": {
      const name = node.id?.name ?? anonymous;
      if (name === undefined) return [];
      declare(
        name,
        node.start,
        [
          node.typeParameters,
          node.superTypeArguments,
          ...(node.implements ?? []),
          ...node.body.body.flatMap(publicPartsOfMember),
        ],
        node.superClass,
      );
      return [name];
    }
    case "VariableDeclaration":
      return node.declarations.flatMap((d) => {
        if (d.id.type !== "Identifier") return [];
        const init = d.init;
        const parts: (Node | null | undefined)[] = [d.id.typeAnnotation];
        if (init?.type === "ArrowFunctionExpression" || init?.type === "FunctionExpression")
          parts.push(init.typeParameters, ...init.params, init.returnType);
        if (init?.type === "TSAsExpression" || init?.type === "TSSatisfiesExpression") parts.push(init.typeAnnotation);
        declare(d.id.name, d.start, parts);
        return [d.id.name];
      });
    default:
      return [];
  }
}

function publicPartsOfMember(member: Node): (Node | null | undefined)[] {
  const hidden = (m: { accessibility?: string | null; key: Node }) =>
    m.accessibility === "private" || m.accessibility === "protected" || m.key.type === "PrivateIdentifier";
  switch (member.type) {
    case "MethodDefinition":
    case "TSAbstractMethodDefinition":
      return hidden(member) ? [] : [member.value.typeParameters, ...member.value.params, member.value.returnType];
    case "PropertyDefinition":
    case "TSAbstractPropertyDefinition":
    case "AccessorProperty":
    case "TSAbstractAccessorProperty":
      return hidden(member) ? [] : [member.typeAnnotation];
    case "TSIndexSignature":
      return [member];
    default:
      return [];
  }
}

/** The first R2/KV name spelled in the parts, and every type name they refer to. */
function referencesIn(
  parts: (Node | null | undefined)[],
  resolveSpecifier: (specifier: string) => string | null,
  superClass: Node | null = null,
): { direct: string | null; refs: Ref[] } {
  let direct: string | null = null;
  const refs: Ref[] = [];
  const refer = (name: Node | null) => {
    if (name === null) return;
    if (name.type === "Identifier") refs.push({ name: name.name });
    else if (name.type === "TSQualifiedName" || name.type === "MemberExpression") {
      const left = name.type === "TSQualifiedName" ? name.left : name.object;
      const right = name.type === "TSQualifiedName" ? name.right : name.property;
      if (left.type === "Identifier" && right.type === "Identifier") refs.push({ name: left.name, member: right.name });
      else refer(left);
    } else if (name.type === "TSImportType") {
      let qualifier = name.qualifier;
      while (qualifier?.type === "TSQualifiedName") qualifier = qualifier.left;
      if (qualifier?.type === "Identifier")
        refs.push({ file: resolveSpecifier(name.source.value), name: qualifier.name });
    }
  };
  for (const part of parts) {
    if (!part) continue;
    walk(part, (node) => {
      if (node.type === "Identifier" && direct === null && R2_KV_NAME.test(node.name)) direct = node.name;
      if (node.type === "TSTypeReference") refer(node.typeName);
      if (node.type === "TSTypeQuery") refer(node.exprName);
      if (node.type === "TSClassImplements" || node.type === "TSInterfaceHeritage") refer(node.expression);
      if (node.type === "TSImportType") refer(node);
    });
  }
  refer(superClass);
  return { direct, refs };
}

/** One step from an exported name towards an R2/KV type; `public` when the step is itself
 *  an export of a public storage file, whose own report then names the fix. */
interface Hop {
  name: string;
  public: boolean;
}

/** Public storage files may not export anything whose public part leads, through any chain of
 *  names, to an R2/KV type: storage returns records. Each leak is reported where it starts:
 *  `getManifest(store: Storage)` is not reported when `Storage` itself is. */
function storageApiProblems(facts: Map<string, FileFacts>): Problem[] {
  const apis = new Map([...facts].flatMap(([file, f]) => (f.api === null ? [] : [[file, f.api] as const])));
  const isPublic = (file: string | null) => file !== null && apis.has(file) && !STORAGE_PRIVATE.has(file);
  const memo = new Map<string, Hop[] | null>();
  /** The hops from a name (exported by file, or declared at its top level) to an R2/KV name. */
  const chainFrom = (file: string | null, name: string, exported: boolean): Hop[] | null => {
    const api = file === null ? undefined : apis.get(file);
    if (file === null || api === undefined) return null;
    const key = `${file}#${name}#${exported}`;
    if (memo.has(key)) return memo.get(key) ?? null;
    memo.set(key, null);
    const found = exported ? chainFromExport(file, api, name) : chainFromLocal(file, api, name);
    memo.set(key, found);
    return found;
  };
  const chainFromExport = (file: string, api: StorageApi, name: string): Hop[] | null => {
    const entry = api.exported.get(name);
    if (entry?.from) return chainFrom(entry.from.file, entry.from.name, true);
    if (entry?.local !== undefined) return chainFrom(file, entry.local, false);
    for (const star of api.starFrom) {
      const found = chainFrom(star, name, true);
      if (found) return found;
    }
    return null;
  };
  const exportsLocal = (api: StorageApi, name: string) => [...api.exported.values()].some((e) => e.local === name);
  const chainFromLocal = (file: string, api: StorageApi, name: string): Hop[] | null => {
    const declared = api.declared.get(name);
    if (declared === undefined) {
      const binding = api.bindings.get(name);
      return binding && binding.name !== "*" ? chainFrom(binding.file, binding.name, true) : null;
    }
    if (declared.direct) return [{ name: declared.direct, public: false }];
    for (const ref of declared.refs) {
      const namespace = "member" in ref && ref.member !== undefined ? api.bindings.get(ref.name) : undefined;
      const [target, targetName, exported] =
        "file" in ref
          ? [ref.file, ref.name, true]
          : namespace?.name === "*" && ref.member !== undefined
            ? [namespace.file, ref.member, true]
            : [file, ref.name, false];
      if ("member" in ref && ref.member !== undefined && namespace?.name !== "*") continue;
      const found = chainFrom(target, targetName, exported);
      if (found === null) continue;
      const binding = exported ? undefined : api.bindings.get(targetName);
      const viaPublicExport = exported
        ? isPublic(target)
        : binding
          ? isPublic(binding.file)
          : isPublic(file) && exportsLocal(api, targetName);
      return [{ name: targetName, public: viaPublicExport }, ...found];
    }
    return null;
  };
  const out: Problem[] = [];
  for (const [file, api] of apis) {
    if (!isPublic(file)) continue;
    for (const [name, entry] of api.exported) {
      if (entry.from && isPublic(entry.from.file)) continue;
      const chain = chainFrom(file, name, true);
      if (chain === null || chain.slice(0, -1).some((hop) => hop.public)) continue;
      const via = chain.slice(0, -1).map((hop) => hop.name);
      out.push({
        file,
        line: entry.line,
        rule: "R2/KV in storage's API",
        text: `exports ${name}, which exposes ${chain.at(-1)?.name}${via.length > 0 ? ` (via ${via.join(" → ")})` : ""}; return a record instead, or list ${file} in STORAGE_PRIVATE if only storage imports it`,
        key: `${file} → ${name}`,
      });
    }
  }
  return out;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  // A tree other than src/ (the test's) is checked without the allowlist, which is src/'s.
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
