// Parsers for the two range grammars the registry reads:
// - the HTTP Range request header on blob GET (RFC 9110 §14.1.2), single ranges only;
// - the Content-Range header of a chunked upload PATCH ("<start>-<end>", distribution-spec).
// Pure functions, property-tested in test/oci-grammar.test.ts.

/** An inclusive byte range resolved against a known size. */
export interface ByteRange {
  start: number;
  end: number;
}

export type RangeRequest =
  | { kind: "none" }
  | { kind: "range"; range: ByteRange }
  | { kind: "unsatisfiable" }
  | { kind: "malformed" };

const MAX_SAFE_DIGITS = 15; // keeps every parsed number an exact integer

function parseNumber(text: string): number | null {
  if (!/^[0-9]+$/.test(text) || text.length > MAX_SAFE_DIGITS) return null;
  return Number(text);
}

/** Resolves a Range header against a blob of `size` bytes. Multiple ranges are served as
 *  "none" (the whole blob), which RFC 9110 allows and every registry client accepts. */
export function parseRangeHeader(header: string | null | undefined, size: number): RangeRequest {
  if (header == null) return { kind: "none" };
  // RFC 9110 §14.2: a range unit the server does not understand MUST be ignored.
  const unit = /^\s*([A-Za-z0-9!#$%&'*+.^_`|~-]+)\s*=/.exec(header);
  if (unit && unit[1]!.toLowerCase() !== "bytes") return { kind: "none" };
  const match = /^\s*bytes\s*=\s*(.*)$/i.exec(header);
  if (!match) return { kind: "malformed" };
  const spec = match[1]!.trim();
  if (spec.includes(",")) return { kind: "none" };
  const dash = spec.indexOf("-");
  if (dash < 0) return { kind: "malformed" };
  const first = spec.slice(0, dash).trim();
  const last = spec.slice(dash + 1).trim();
  if (first === "") {
    const suffix = parseNumber(last);
    if (suffix === null) return { kind: "malformed" };
    if (suffix === 0 || size === 0) return { kind: "unsatisfiable" };
    return { kind: "range", range: { start: Math.max(0, size - suffix), end: size - 1 } };
  }
  const start = parseNumber(first);
  if (start === null) return { kind: "malformed" };
  let end = size - 1;
  if (last !== "") {
    const parsedEnd = parseNumber(last);
    if (parsedEnd === null || parsedEnd < start) return { kind: "malformed" };
    end = Math.min(parsedEnd, size - 1);
  }
  if (start >= size) return { kind: "unsatisfiable" };
  return { kind: "range", range: { start, end } };
}

export function formatContentRange(range: ByteRange, size: number): string {
  return `bytes ${range.start}-${range.end}/${size}`;
}

/** Parses an upload chunk's Content-Range: "start-end", also tolerating the "bytes " and
 *  "bytes=" prefixes and a "/total" suffix that some clients send. Null when malformed. */
export function parseChunkRange(header: string): ByteRange | null {
  const match = /^\s*(?:bytes[ =])?\s*([0-9]+)-([0-9]+)(?:\/(?:[0-9]+|\*))?\s*$/i.exec(header);
  if (!match) return null;
  const start = parseNumber(match[1]!);
  const end = parseNumber(match[2]!);
  if (start === null || end === null || end < start) return null;
  return { start, end };
}

/** The upload status header: "0-<last byte>", or "0-0" before any byte arrived, as the spec
 *  and docker expect. */
export function formatUploadRange(length: number): string {
  return `0-${Math.max(0, length - 1)}`;
}
