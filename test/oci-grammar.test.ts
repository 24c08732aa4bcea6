// Property tests for the pure OCI grammar in src/oci: digests, names, tags, references, the
// Range and upload Content-Range parsers, and paging. Each grammar is checked against the
// spec's own regular expression (written out here independently of src/), by round trips,
// and by near misses that must be refused.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { RegistryError } from "../src/errors";
import { formatDigest, parseDigest, tryParseDigest } from "../src/oci/digest";
import { nextPageLink, parsePageRequest } from "../src/oci/pagination";
import { formatContentRange, formatUploadRange, parseChunkRange, parseRangeHeader } from "../src/oci/range";
import { MAX_NAME_LENGTH, isValidName, isValidTag, parseReference } from "../src/oci/reference";

// A fixed seed keeps failures reproducible; fast-check prints the counterexample and path.
fc.configureGlobal({ seed: 0x0c1_2024, numRuns: 400 });

// distribution-spec "Pulling manifests" and image-spec descriptor.md#digests.
const SPEC_NAME = /^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*$/;
const SPEC_TAG = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;
const SPEC_DIGEST = /^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/;

const hex = (length: number) =>
  fc.string({ unit: fc.constantFrom(..."0123456789abcdef"), minLength: length, maxLength: length });
const algorithm = fc.constantFrom("sha256" as const, "sha512" as const);
const validDigest = algorithm.chain((alg) => hex(alg === "sha256" ? 64 : 128).map((h) => `${alg}:${h}`));
/** Strings over the characters that matter to the grammars, so near misses are common. */
const grammarish = (chars: string, maxLength = 40) => fc.string({ unit: fc.constantFrom(...chars), maxLength });

function registryCode(fn: () => unknown): string | null {
  try {
    fn();
    return null;
  } catch (error) {
    if (error instanceof RegistryError) return error.code;
    throw error;
  }
}

describe("digest", () => {
  it("round-trips every valid sha256 and sha512 digest", () => {
    fc.assert(
      fc.property(validDigest, (d) => {
        const parsed = tryParseDigest(d);
        expect(parsed).not.toBeNull();
        expect(formatDigest(parsed!)).toBe(d);
        expect(parseDigest(d)).toEqual(parsed);
      }),
    );
  });

  it("agrees with the spec's grammar on arbitrary strings", () => {
    const candidate = fc.oneof(
      grammarish("sha256512:0123456789abcdefABCDEF+._-= ", 140),
      validDigest.map((d) => d.slice(0, -1)),
      validDigest.map((d) => `${d}0`),
    );
    fc.assert(
      fc.property(candidate, (s) => {
        expect(tryParseDigest(s) !== null).toBe(SPEC_DIGEST.test(s));
      }),
    );
  });

  it("refuses near misses with DIGEST_INVALID", () => {
    const nearMiss = fc.oneof(
      validDigest.map((d) => d.slice(0, -1)), // one hex digit short
      validDigest.map((d) => `${d}a`), // one too many
      validDigest.map((d) => d.toUpperCase()), // uppercase hex and algorithm
      validDigest.map((d) => d.replace(/[a-f]/, "A")), // one uppercase hex digit
      validDigest.map((d) => d.replace(/^sha(256|512)/, "md5")), // unknown algorithm
      validDigest.map((d) => d.replace(/^sha256:/, "sha512:")), // length of the other algorithm
      validDigest.map((d) => d.replace(":", "")),
      validDigest.map((d) => ` ${d}`),
      validDigest.map((d) => `${d}\n`),
      validDigest.map((d) => d.replace(/.$/, "g")),
    );
    fc.assert(
      fc.property(nearMiss, (s) => {
        // Guards the generator: a valid digest is not a near miss.
        fc.pre(!SPEC_DIGEST.test(s));
        expect(tryParseDigest(s)).toBeNull();
        expect(registryCode(() => parseDigest(s))).toBe("DIGEST_INVALID");
      }),
    );
    expect(registryCode(() => parseDigest(undefined))).toBe("DIGEST_INVALID");
    expect(registryCode(() => parseDigest(""))).toBe("DIGEST_INVALID");
  });
});

describe("repository name", () => {
  it("accepts every name the spec's regex generates, up to the length cap", () => {
    fc.assert(
      fc.property(fc.stringMatching(SPEC_NAME), (name) => {
        expect(isValidName(name)).toBe(name.length <= MAX_NAME_LENGTH);
      }),
    );
  });

  it("agrees with the spec's regex on arbitrary strings", () => {
    fc.assert(
      fc.property(grammarish("ab09._-/A:@ ", 30), (s) => {
        expect(isValidName(s)).toBe(SPEC_NAME.test(s));
      }),
    );
  });

  it("caps the length at 255 and refuses near misses", () => {
    expect(isValidName("a".repeat(255))).toBe(true);
    expect(isValidName("a".repeat(256))).toBe(false);
    expect(isValidName(`${"a/".repeat(127)}a`)).toBe(true); // 255 characters of components
    for (const bad of [
      "",
      "A",
      "a/",
      "/a",
      "a//b",
      "a..b",
      "a._b",
      "_a",
      "a/_b",
      "a___b",
      "a-",
      "-a",
      "a:b",
      "a b",
      "ä",
      "a/b/",
    ]) {
      expect(isValidName(bad), bad).toBe(false);
    }
    for (const good of ["a", "a/b", "a.b", "a_b", "a__b", "a---b", "0/1/2", "library/ubuntu"]) {
      expect(isValidName(good), good).toBe(true);
    }
  });
});

describe("tag and reference", () => {
  it("accepts exactly the spec's tags", () => {
    fc.assert(
      fc.property(fc.stringMatching(SPEC_TAG), (tag) => {
        expect(isValidTag(tag)).toBe(true);
      }),
    );
    fc.assert(
      fc.property(grammarish("aZ09._-:/@ ", 140), (s) => {
        expect(isValidTag(s)).toBe(SPEC_TAG.test(s));
      }),
    );
    expect(isValidTag("a".repeat(128))).toBe(true);
    expect(isValidTag("a".repeat(129))).toBe(false);
    for (const bad of ["", ".a", "-a", "a/b", "a:b", "a b", "a+b"]) expect(isValidTag(bad), bad).toBe(false);
  });

  it("reads tags as tags and digests as digests", () => {
    fc.assert(
      fc.property(fc.stringMatching(SPEC_TAG), (tag) => {
        expect(parseReference(tag, "read")).toEqual({ kind: "tag", tag });
        expect(parseReference(tag, "write")).toEqual({ kind: "tag", tag });
      }),
    );
    fc.assert(
      fc.property(validDigest, (d) => {
        const ref = parseReference(d, "read");
        expect(ref.kind).toBe("digest");
        expect(ref.kind === "digest" && formatDigest(ref.digest)).toBe(d);
      }),
    );
  });

  it("refuses references that are neither, before storage sees them", () => {
    // Anything with ":" is a digest attempt; anything else must be a tag.
    fc.assert(
      fc.property(grammarish("sha256:abcXYZ09._-/ ", 80), (s) => {
        fc.pre(!SPEC_TAG.test(s) && !SPEC_DIGEST.test(s));
        // Reading a name that cannot exist finds nothing (404); writing one is a bad tag (400).
        expect(registryCode(() => parseReference(s, "read"))).toBe(
          s.includes(":") ? "DIGEST_INVALID" : "MANIFEST_UNKNOWN",
        );
        expect(registryCode(() => parseReference(s, "write"))).toBe(s.includes(":") ? "DIGEST_INVALID" : "TAG_INVALID");
      }),
    );
  });
});

describe("Range header (blob GET)", () => {
  const sized = fc
    .integer({ min: 1, max: 1e12 })
    .chain((size) =>
      fc.tuple(fc.constant(size), fc.integer({ min: 0, max: size - 1 }), fc.integer({ min: 0, max: size - 1 })),
    );

  it("round-trips a satisfiable first-last range through Content-Range", () => {
    fc.assert(
      fc.property(sized, ([size, a, b]) => {
        const [start, end] = a <= b ? [a, b] : [b, a];
        const parsed = parseRangeHeader(`bytes=${start}-${end}`, size);
        expect(parsed).toEqual({ kind: "range", range: { start, end } });
        expect(formatContentRange({ start, end }, size)).toBe(`bytes ${start}-${end}/${size}`);
      }),
    );
  });

  it("clamps a last position past the end, and serves open ranges to the end", () => {
    fc.assert(
      fc.property(sized, fc.nat(1e6), ([size, start], beyond) => {
        expect(parseRangeHeader(`bytes=${start}-${size - 1 + beyond}`, size)).toEqual({
          kind: "range",
          range: { start, end: size - 1 },
        });
        expect(parseRangeHeader(`bytes=${start}-`, size)).toEqual({ kind: "range", range: { start, end: size - 1 } });
      }),
    );
  });

  it("serves suffix ranges as the last n bytes", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1e9 }), fc.integer({ min: 1, max: 2e9 }), (size, n) => {
        expect(parseRangeHeader(`bytes=-${n}`, size)).toEqual({
          kind: "range",
          range: { start: Math.max(0, size - n), end: size - 1 },
        });
      }),
    );
    expect(parseRangeHeader("bytes=-0", 10).kind).toBe("unsatisfiable");
    expect(parseRangeHeader("bytes=-5", 0).kind).toBe("unsatisfiable");
  });

  it("calls a first position at or past the end unsatisfiable", () => {
    fc.assert(
      fc.property(fc.nat(1e9), fc.nat(1e6), (size, past) => {
        expect(parseRangeHeader(`bytes=${size + past}-`, size).kind).toBe("unsatisfiable");
      }),
    );
  });

  it("refuses malformed byte ranges, and ignores what it may ignore", () => {
    for (const bad of [
      "bytes=",
      "bytes=a-b",
      "bytes=5",
      "bytes=5-3",
      "bytes=--1",
      "bytes=1-2-3",
      "bytes=0x1-2",
      "bytes=+1-2",
      "bytes",
      "bytes 1-2",
    ]) {
      expect(parseRangeHeader(bad, 100).kind, bad).toBe("malformed");
    }
    expect(parseRangeHeader(null, 100).kind).toBe("none");
    expect(parseRangeHeader(undefined, 100).kind).toBe("none");
    // RFC 9110 §14.2: a server may serve the whole representation for several ranges, and
    // MUST ignore a range unit it does not understand.
    expect(parseRangeHeader("bytes=0-1,5-6", 100).kind).toBe("none");
    expect(parseRangeHeader("items=0-1", 100).kind).toBe("none");
    // Tolerated spelling: case and spaces around the parts.
    expect(parseRangeHeader("Bytes = 1 - 2", 100)).toEqual({ kind: "range", range: { start: 1, end: 2 } });
  });

  it("never throws and always yields a range inside the blob", () => {
    fc.assert(
      fc.property(grammarish("bytes=0123456789-, ", 30), fc.nat(1e9), (header, size) => {
        const parsed = parseRangeHeader(header, size);
        if (parsed.kind === "range") {
          expect(parsed.range.start).toBeGreaterThanOrEqual(0);
          expect(parsed.range.start).toBeLessThanOrEqual(parsed.range.end);
          expect(parsed.range.end).toBeLessThan(size);
        }
      }),
    );
  });
});

describe("Content-Range of an upload chunk", () => {
  const span = fc
    .tuple(fc.nat(1e13), fc.nat(1e13))
    .map(([a, b]) => (a <= b ? { start: a, end: b } : { start: b, end: a }));

  it("round-trips start-end in every spelling clients send", () => {
    fc.assert(
      fc.property(
        span,
        fc.constantFrom("", "bytes ", "bytes=", "BYTES "),
        fc.constantFrom("", "/*", "/123"),
        (r, prefix, suffix) => {
          expect(parseChunkRange(`${prefix}${r.start}-${r.end}${suffix}`)).toEqual(r);
        },
      ),
    );
  });

  it("reads back the status Range it reports", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1e13 }), (length) => {
        expect(formatUploadRange(length)).toBe(`0-${length - 1}`);
        expect(parseChunkRange(formatUploadRange(length))).toEqual({ start: 0, end: length - 1 });
      }),
    );
    expect(formatUploadRange(0)).toBe("0-0");
  });

  it("refuses malformed and backwards ranges", () => {
    fc.assert(
      fc.property(span, (r) => {
        fc.pre(r.start < r.end);
        expect(parseChunkRange(`${r.end}-${r.start}`)).toBeNull();
      }),
    );
    for (const bad of [
      "",
      "-",
      "1-",
      "-1",
      "a-b",
      "1-2-3",
      "1--2",
      "-1-2",
      "1-2/",
      "1-2/x",
      "1 2",
      "0x1-2",
      "1-2,3-4",
      "1234567890123456-1234567890123457",
    ]) {
      expect(parseChunkRange(bad), bad).toBeNull();
    }
  });

  it("never returns a backwards or negative range for arbitrary input", () => {
    fc.assert(
      fc.property(grammarish("bytes =0123456789-/*", 40), (header) => {
        const r = parseChunkRange(header);
        if (r) {
          expect(r.start).toBeGreaterThanOrEqual(0);
          expect(r.end).toBeGreaterThanOrEqual(r.start);
        }
      }),
    );
  });
});

describe("paging", () => {
  it("reads n as a bounded count and refuses anything else", () => {
    fc.assert(
      fc.property(fc.nat(999_999_999), fc.integer({ min: 1, max: 10_000 }), (n, max) => {
        expect(parsePageRequest(String(n), undefined, max)).toEqual({ limit: Math.min(n, max), last: null });
      }),
    );
    expect(parsePageRequest(undefined, undefined, 100)).toEqual({ limit: null, last: null });
    expect(parsePageRequest("", "", 100)).toEqual({ limit: null, last: null });
    for (const bad of ["-1", "abc", "1.5", "1e3", " 1", "0x10", "9999999999", "+1"]) {
      expect(
        registryCode(() => parsePageRequest(bad, undefined, 100)),
        bad,
      ).toBe("PAGINATION_NUMBER_INVALID");
    }
  });

  it("builds a Link whose query reads back the same n and last", () => {
    fc.assert(
      fc.property(fc.option(fc.nat(10_000), { nil: null }), fc.string({ minLength: 1 }), (limit, last) => {
        const link = nextPageLink("/v2/a/b/tags/list", limit, last);
        const match = /^<([^>]+)>; rel="next"$/.exec(link);
        expect(match).not.toBeNull();
        const url = new URL(match![1]!, "http://registry.test");
        expect(url.pathname).toBe("/v2/a/b/tags/list");
        expect(url.searchParams.get("last")).toBe(last);
        expect(url.searchParams.get("n")).toBe(limit === null ? null : String(limit));
      }),
    );
  });
});
