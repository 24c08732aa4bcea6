// What the layering check's rules share (scripts/check-layers.ts): the problem they report,
// the R2/KV name pattern, and small helpers over oxc-parser's ESTree nodes.
import { dirname, relative, resolve } from "node:path";
import type { Node } from "oxc-parser";

export interface Problem {
  /** Relative to the source root, or scripts/check-layers.ts for a stale allowlist entry. */
  file: string;
  line: number | null;
  rule: string;
  /** What is wrong, then what to do about it. */
  text: string;
  /** `from → to`: what an allowlist entry must say to exempt it; null when none can. */
  key: string | null;
}

/** Every type the Workers runtime declares for R2 and KV: R2Bucket, R2Object, R2PutOptions,
 *  KVNamespace, KVNamespaceListResult, ... */
export const R2_KV_NAME = /^(R2[A-Z]\w*|KVNamespace\w*)$/;

/** Visits every node below `node`, depth first, with its parent (oxc sets none itself). */
export function walk(node: Node, visit: (node: Node, parent: Node | null) => void, parent: Node | null = null): void {
  visit(node, parent);
  for (const value of Object.values(node))
    for (const child of Array.isArray(value) ? value : [value]) if (isNode(child)) walk(child, visit, node);
}

function isNode(value: unknown): value is Node {
  return typeof value === "object" && value !== null && typeof (value as { type?: unknown }).type === "string";
}

/** Line numbers (from 1) of source offsets. */
export function lineFinder(text: string): (offset: number) => number {
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

/** A string literal's text (or a template's without substitutions), else null. */
export function literalText(node: Node): string | null {
  if (node.type === "Literal" && typeof node.value === "string") return node.value;
  if (node.type === "TemplateLiteral" && node.expressions.length === 0) return node.quasis[0]?.value.cooked ?? null;
  return null;
}

/** The name of a property key or module export name: `a` in `x.a`, `{ a }`, `{ "a": … }`. */
export function propertyName(node: Node): string | null {
  return node.type === "Identifier" ? node.name : literalText(node);
}

/** The file under the root that a relative specifier names (TypeScript's lookup: as written,
 *  then with .ts/.tsx, then as a folder's index), or null. */
export function resolveImport(root: string, from: string, specifier: string, known: Set<string>): string | null {
  const base = relative(root, resolve(root, dirname(from), specifier))
    .split("\\")
    .join("/");
  const stem = base.replace(/\.js$/, "");
  const candidates = [base, `${stem}.ts`, `${stem}.tsx`, `${base}/index.ts`, `${base}/index.tsx`];
  return candidates.find((c) => known.has(c)) ?? null;
}
