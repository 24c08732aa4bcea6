// One source file as the layering check sees it: every import however it is written, the R2
// and KV it touches outside src/storage/, and (for a storage file) what its exports expose.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { type Node, parseSync } from "oxc-parser";
import { lineFinder, literalText, type Problem, propertyName, R2_KV_NAME, resolveImport, walk } from "./ast";
import { type StorageApi, storageApiOf } from "./storage-api";

export interface Import {
  from: string;
  /** The imported file relative to the source root; null when it resolves to none. */
  to: string | null;
  specifier: string;
  line: number;
  /** `export … from`: the importing file hands the imported one's names on. */
  reexport: boolean;
}

export interface SourceFacts {
  imports: Import[];
  /** Parse errors, computed import() specifiers, and R2/KV used outside storage. */
  problems: Problem[];
  /** For a file in src/storage/. */
  api: StorageApi | null;
}

/** The Cache API's global and its type: the edge cache is storage too. */
const EDGE_CACHE_NAMES = new Set(["caches", "CacheStorage"]);

/** The Worker's R2 and KV bindings (wrangler.toml), and the Storage members that hold them. */
const BINDINGS = new Set(["REGISTRY", "UPLOADS"]);
const BINDING_HOLDERS = new Set(["bucket", "kv"]);

export function readSource(root: string, file: string, known: Set<string>): SourceFacts {
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
  const resolveSpecifier = (specifier: string) => resolveImport(root, file, specifier, known);
  const imports: Import[] = [];
  const addImport = (specifier: string, at: number, reexport = false) => {
    if (specifier.startsWith("."))
      imports.push({ from: file, to: resolveSpecifier(specifier), specifier, line: lineOf(at), reexport });
  };
  const r2Use = (at: number, what: string, text: string) =>
    problems.push({ file, line: lineOf(at), rule: "R2/KV outside storage", text, key: `${file} → ${what}` });
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
          r2Use(
            node.start,
            node.name,
            `names ${node.name}; only src/storage/ names R2/KV types: use the record storage returns`,
          );
        else if (outsideStorage && EDGE_CACHE_NAMES.has(node.name))
          r2Use(
            node.start,
            node.name,
            `names ${node.name}; only src/storage/ touches the edge cache (storage/edge-cache.ts)`,
          );
        break;
      case "MemberExpression": {
        const used = outsideStorage ? bindingUse(node, parent) : null;
        if (used !== null)
          r2Use(
            node.start,
            used,
            `uses ${used}; only src/storage/ touches the bucket or the namespace: call a storage function`,
          );
        break;
      }
      case "Property": {
        const name = propertyName(node.key);
        if (outsideStorage && parent?.type === "ObjectPattern" && name !== null && BINDINGS.has(name))
          r2Use(node.start, name, `takes the ${name} binding; only src/storage/ touches the bucket or the namespace`);
        break;
      }
    }
  });
  const api = file.startsWith("storage/") ? storageApiOf(parsed.program, lineOf, resolveSpecifier) : null;
  return { imports, problems, api };
}

/** `env.REGISTRY`, `c.env.UPLOADS`, or a call on `….bucket` / `….kv`, else null. */
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
  if (objectName !== null && BINDING_HOLDERS.has(objectName) && parent?.type === "CallExpression")
    return parent.callee === node ? `.${objectName}.${name}()` : null;
  return null;
}
