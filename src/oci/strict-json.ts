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
