// Strict reading of manifest JSON. JSON.parse lets the last of two equal keys win, where
// other parsers keep the first, refuse, or (Go's encoding/json, for struct fields) match keys
// case-insensitively. A manifest that different parsers read differently is a security hole:
// a second "layers" could hide the real list from the missing-blob check and from GC, yet be
// what a client pulls. So keys that are equal, or equal under Go's case folding, are refused
// at any depth, as is a UTF-8 byte order mark (Go clients cannot parse one).
//
// Hand-written because no maintained library reports duplicate keys without building a whole
// syntax tree of the (up to 4 MiB) document. This is one linear pass over text that
// JSON.parse has already accepted, so it needs no error handling of its own; it keeps one set
// of keys per object currently open (popped when the object closes).
//
// Before any of that, measureJsonShape() reads the raw bytes once for nesting depth and the
// number of values, so a document that would make JSON.parse build too much, or that other
// parsers refuse, is turned away before JSON.parse runs.

/** Go's encoding/json folds case with Unicode simple folding; of the non-ASCII letters, only
 *  the Kelvin sign and the long s fold onto ASCII ones. */
export function foldKey(key: string): string {
  return key
    .replace(/\u212a/g, "k")
    .replace(/\u017f/g, "s")
    .toLowerCase();
}

/** Index of the closing quote of the string that opens at `start`. */
function stringEnd(text: string, start: number): number {
  let i = start + 1;
  for (;;) {
    const ch = text.charCodeAt(i);
    if (ch === 0x5c) i += 2;
    else if (ch === 0x22) return i;
    else i++;
  }
}

/** The first key repeated within one object of `text` (valid JSON), or null. */
export function findDuplicateKey(text: string): string | null {
  const open: (Set<string> | null)[] = []; // a set of folded keys per object, null per array
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (ch === 0x22) {
      const end = stringEnd(text, i);
      const keys = open[open.length - 1];
      if (expectKey && keys) {
        const key = JSON.parse(text.slice(i, end + 1)) as string;
        const folded = foldKey(key);
        if (keys.has(folded)) return key;
        keys.add(folded);
        expectKey = false;
      }
      i = end;
    } else if (ch === 0x7b) {
      open.push(new Set());
      expectKey = true;
    } else if (ch === 0x5b) {
      open.push(null);
    } else if (ch === 0x7d || ch === 0x5d) {
      open.pop();
      expectKey = false;
    } else if (ch === 0x2c) {
      expectKey = open[open.length - 1] instanceof Set;
    }
  }
  return null;
}

/** Whether the bytes start with a UTF-8 byte order mark. */
export function hasByteOrderMark(bytes: Uint8Array): boolean {
  return bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf;
}

/** The deepest nesting of arrays and objects a manifest may have. The image-spec's own
 *  structures go five deep (index → manifests → descriptor → platform → os.features); 100 is
 *  Ruby's JSON default and below serde_json's 128 and Go's 10,000, so whatever the registry
 *  accepts, every common client parser reads back. */
export const MAX_JSON_DEPTH = 100;

/** The most values (keys counted too) a manifest may hold. JSON.parse's heap grows with what
 *  it builds, not with the bytes: 4 MiB of `[{},{},…]` is 1.4 million objects, about 85 MiB.
 *  2^18 items costs at most about 17 MiB (measured with empty objects, the costliest value per
 *  byte) and still admits 20,000 repeated layer descriptors of seven items each. */
export const MAX_JSON_ITEMS = 262_144;

export interface JsonShape {
  /** The deepest nesting of arrays and objects. */
  depth: number;
  /** An upper bound on keys plus values: commas, colons and openings, plus one. For valid
   *  JSON it is exact but for one extra per empty array or object. */
  items: number;
}

/** Depth and item count of JSON bytes, read without parsing. Strings are skipped (a quote
 *  preceded by a backslash does not close one), and since UTF-8 never uses bytes below 0x80
 *  inside a multi-byte character, scanning bytes is as safe as scanning text. Invalid JSON
 *  gets some answer and is left for JSON.parse to refuse. */
export function measureJsonShape(bytes: Uint8Array): JsonShape {
  let depth = 0;
  let deepest = 0;
  let items = 1;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (b === 0x22) {
      for (i++; i < bytes.length && bytes[i] !== 0x22; i++) if (bytes[i] === 0x5c) i++;
    } else if (b === 0x7b || b === 0x5b) {
      items++;
      if (++depth > deepest) deepest = depth;
    } else if (b === 0x7d || b === 0x5d) {
      depth--;
    } else if (b === 0x2c || b === 0x3a) {
      items++;
    }
  }
  return { depth: deepest, items };
}

/** Why the document is too deep or too large to parse, or null when JSON.parse may read it.
 *  The one home of the rule: manifests are refused with it at push, and the web UI skips any
 *  stored document (a config blob, or a manifest stored before the rule) it flags. */
export function jsonShapeRefusal(bytes: Uint8Array): string | null {
  const shape = measureJsonShape(bytes);
  if (shape.depth > MAX_JSON_DEPTH)
    return `it nests ${shape.depth} arrays and objects deep; this registry accepts at most ${MAX_JSON_DEPTH}`;
  if (shape.items > MAX_JSON_ITEMS)
    return `it holds about ${shape.items} keys and values; this registry accepts at most ${MAX_JSON_ITEMS}`;
  return null;
}
