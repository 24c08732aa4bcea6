// What a storage file's exports expose, for the rule that storage returns records: an export
// of a public storage file may not lead, through any chain of names (aliases, interfaces,
// signatures, imports from other storage files), to an R2/KV type. Names only: a return type
// left to inference is not seen.
import type { Node } from "oxc-parser";
import { type Problem, propertyName, R2_KV_NAME, walk } from "./ast";

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

/** What a storage file declares, imports and exports. */
export interface StorageApi {
  declared: Map<string, Declaration>;
  /** Imported names: local name → the file and the name it exports (`*` for a namespace). */
  bindings: Map<string, { file: string | null; name: string }>;
  exported: Map<string, Exported>;
  /** `export * from` sources. */
  starFrom: (string | null)[];
}

/** What a storage file declares and exports, with the type names each declaration's public
 *  part refers to: its whole body for a type or interface, the signature for a function, the
 *  non-private members for a class, the annotation for a variable. */
export function storageApiOf(
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

/** Exports of public storage files that lead to an R2/KV type. Each leak is reported where
 *  it starts: `getManifest(store: Storage)` is not reported when `Storage` itself is. */
export function storageApiProblems(apis: Map<string, StorageApi>, isPrivate: (file: string) => boolean): Problem[] {
  const isPublic = (file: string | null) => file !== null && apis.has(file) && !isPrivate(file);
  const memo = new Map<string, Hop[] | null>();
  /** The hops from a name (exported by file, or bound at its top level) to an R2/KV name. */
  const chainFrom = (file: string | null, name: string, exported: boolean): Hop[] | null => {
    const api = file === null ? undefined : apis.get(file);
    if (file === null || api === undefined) return null;
    const key = `${file}#${name}#${exported}`;
    if (memo.has(key)) return memo.get(key) ?? null;
    memo.set(key, null); // a name that refers to itself leads nowhere new
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
  const chainFromLocal = (file: string, api: StorageApi, name: string): Hop[] | null => {
    const declared = api.declared.get(name);
    if (declared === undefined) {
      const binding = api.bindings.get(name);
      if (binding) return binding.name !== "*" ? chainFrom(binding.file, binding.name, true) : null;
      return R2_KV_NAME.test(name) ? [{ name, public: false }] : null; // `export type { R2Object }`: a global
    }
    if (declared.direct) return [{ name: declared.direct, public: false }];
    for (const ref of declared.refs) {
      const target = targetOf(file, api, ref);
      const found = target && chainFrom(target.file, target.name, target.exported);
      if (!target || !found) continue;
      const binding = target.exported ? undefined : api.bindings.get(target.name);
      const isPublicExport = target.exported
        ? isPublic(target.file)
        : binding
          ? isPublic(binding.file)
          : isPublic(file) && [...api.exported.values()].some((e) => e.local === target.name);
      return [
        { name: "member" in ref && ref.member ? `${ref.name}.${ref.member}` : ref.name, public: isPublicExport },
        ...found,
      ];
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
        text: `exports ${name}, which exposes ${chain.at(-1)?.name}${via.length > 0 ? ` (via ${via.join(" → ")})` : ""}; return a record instead, or make ${file} private to storage (STORAGE_PRIVATE) if only storage imports it`,
        key: `${file} → ${name}`,
      });
    }
  }
  return out;
}

/** Where a reference points: a name at the file's top level, or a name another file exports
 *  (through a namespace import or `import("…")`); null for a member of something else. */
function targetOf(
  file: string,
  api: StorageApi,
  ref: Ref,
): { file: string | null; name: string; exported: boolean } | null {
  if ("file" in ref) return { file: ref.file, name: ref.name, exported: true };
  if (ref.member === undefined) return { file, name: ref.name, exported: false };
  const namespace = api.bindings.get(ref.name);
  return namespace?.name === "*" ? { file: namespace.file, name: ref.member, exported: true } : null;
}
