// Unit tests for manifest validation (src/oci/manifest.ts): the four accepted kinds, the
// mediaType / Content-Type rules (umoci omits mediaType), schema 1, bad descriptors, and
// bytes that parsers read differently (duplicate keys, a byte order mark).
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { RegistryError } from "../src/errors";
import { MEDIA_TYPES, parseManifest } from "../src/oci/manifest";
import { MAX_JSON_DEPTH, MAX_JSON_ITEMS, findDuplicateKey, foldKey, measureJsonShape } from "../src/oci/strict-json";

const enc = (value: unknown) => new TextEncoder().encode(typeof value === "string" ? value : JSON.stringify(value));
const D = (n: number, mediaType = "application/octet-stream") => ({
  mediaType,
  digest: `sha256:${String(n).repeat(64).slice(0, 64)}`,
  size: n * 10,
});
const CONFIG = D(1, "application/vnd.oci.image.config.v1+json");
const LAYER = D(2, "application/vnd.oci.image.layer.v1.tar+gzip");
const ociImage = { schemaVersion: 2, mediaType: MEDIA_TYPES.ociManifest, config: CONFIG, layers: [LAYER] };
const ociIndex = { schemaVersion: 2, mediaType: MEDIA_TYPES.ociIndex, manifests: [D(3, MEDIA_TYPES.ociManifest)] };

function invalidDetail(bytes: Uint8Array, contentType: string | null): string {
  try {
    parseManifest(bytes, contentType);
  } catch (error) {
    expect(error).toBeInstanceOf(RegistryError);
    expect((error as RegistryError).code).toBe("MANIFEST_INVALID");
    expect((error as RegistryError).status).toBe(400);
    return String((error as RegistryError).detail);
  }
  throw new Error("manifest was accepted");
}

describe("accepted manifests", () => {
  it("reads an OCI image manifest: config and layers are the blobs", () => {
    const parsed = parseManifest(enc(ociImage), MEDIA_TYPES.ociManifest);
    expect(parsed.kind).toBe("image");
    expect(parsed.mediaType).toBe(MEDIA_TYPES.ociManifest);
    expect(parsed.blobs.map((d) => `${d.algorithm}:${d.hex}`)).toEqual([CONFIG.digest, LAYER.digest]);
    expect(parsed.manifests).toEqual([]);
    expect(parsed.subject).toBeNull();
    // image-spec: with no artifactType, a referrers list reports the config's media type.
    expect(parsed.artifactType).toBe(CONFIG.mediaType);
  });

  it("reads an OCI index: entries are child manifests, not blobs", () => {
    const parsed = parseManifest(
      enc({ ...ociIndex, artifactType: "application/x.t", subject: D(4, MEDIA_TYPES.ociManifest) }),
      MEDIA_TYPES.ociIndex,
    );
    expect(parsed.kind).toBe("index");
    expect(parsed.blobs).toEqual([]);
    expect(parsed.manifests).toHaveLength(1);
    expect(parsed.subject?.hex).toBe("4".repeat(64));
    expect(parsed.artifactType).toBe("application/x.t");
  });

  it("reads Docker schema 2 manifests and manifest lists", () => {
    const docker = {
      ...ociImage,
      mediaType: MEDIA_TYPES.dockerManifest,
      config: { ...CONFIG, mediaType: "application/vnd.docker.container.image.v1+json" },
    };
    expect(parseManifest(enc(docker), MEDIA_TYPES.dockerManifest).kind).toBe("image");
    const list = {
      schemaVersion: 2,
      mediaType: MEDIA_TYPES.dockerManifestList,
      manifests: [D(5, MEDIA_TYPES.dockerManifest)],
    };
    expect(parseManifest(enc(list), MEDIA_TYPES.dockerManifestList).kind).toBe("index");
  });

  it("lets the Content-Type decide when mediaType is absent, as umoci writes", () => {
    const { mediaType: _, ...umoci } = ociImage;
    expect(parseManifest(enc(umoci), MEDIA_TYPES.ociManifest).mediaType).toBe(MEDIA_TYPES.ociManifest);
    // Parameters and case in the Content-Type do not matter.
    expect(parseManifest(enc(umoci), "Application/VND.oci.image.manifest.v1+json; charset=utf-8").mediaType).toBe(
      MEDIA_TYPES.ociManifest,
    );
    // With neither, the shape decides.
    expect(parseManifest(enc(umoci), null).mediaType).toBe(MEDIA_TYPES.ociManifest);
    const { mediaType: __, ...bareIndex } = ociIndex;
    expect(parseManifest(enc(bareIndex), null).mediaType).toBe(MEDIA_TYPES.ociIndex);
    // mediaType in the JSON decides when no Content-Type came.
    expect(parseManifest(enc(ociIndex), null).mediaType).toBe(MEDIA_TYPES.ociIndex);
  });

  it("does not require non-distributable layers to exist", () => {
    const foreign = { ...LAYER, mediaType: "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip" };
    const parsed = parseManifest(enc({ ...ociImage, layers: [LAYER, foreign] }), MEDIA_TYPES.ociManifest);
    expect(parsed.blobs).toHaveLength(2);
  });
});

describe("refused manifests", () => {
  it("refuses a mediaType that disagrees with the Content-Type", () => {
    expect(invalidDetail(enc(ociImage), MEDIA_TYPES.ociIndex)).toMatch(/does not match/);
    expect(invalidDetail(enc(ociIndex), MEDIA_TYPES.dockerManifestList)).toMatch(/does not match/);
  });

  it("refuses Docker schema 1 by media type or schemaVersion", () => {
    const schema1 = { schemaVersion: 1, name: "a", tag: "b", fsLayers: [], history: [] };
    expect(invalidDetail(enc(schema1), "application/vnd.docker.distribution.manifest.v1+prettyjws")).toMatch(
      /schema 1/,
    );
    expect(invalidDetail(enc(schema1), "application/vnd.docker.distribution.manifest.v1+json")).toMatch(/schema 1/);
    expect(invalidDetail(enc(schema1), null)).toMatch(/schema 1/);
  });

  it("refuses what is not a JSON object of schemaVersion 2", () => {
    for (const body of ["", "{", "[]", "null", "42", '"x"', "\xff"]) invalidDetail(enc(body), MEDIA_TYPES.ociManifest);
    invalidDetail(new Uint8Array([0x7b, 0xc3, 0x28, 0x7d]), MEDIA_TYPES.ociManifest); // invalid UTF-8
    invalidDetail(enc({ ...ociImage, schemaVersion: 3 }), MEDIA_TYPES.ociManifest);
    invalidDetail(enc({ ...ociImage, schemaVersion: "2" }), MEDIA_TYPES.ociManifest);
  });

  it("refuses unknown media types and missing structure", () => {
    expect(invalidDetail(enc({ ...ociImage, mediaType: undefined }), "application/json")).toMatch(/unsupported/);
    invalidDetail(enc({ ...ociImage, mediaType: 7 }), null);
    invalidDetail(enc({ ...ociImage, layers: undefined }), MEDIA_TYPES.ociManifest);
    invalidDetail(enc({ ...ociImage, config: undefined }), MEDIA_TYPES.ociManifest);
    invalidDetail(enc({ ...ociIndex, manifests: {} }), MEDIA_TYPES.ociIndex);
    invalidDetail(enc({ schemaVersion: 2 }), null);
    invalidDetail(enc({ ...ociImage, annotations: { a: 1 } }), MEDIA_TYPES.ociManifest);
    invalidDetail(enc({ ...ociImage, artifactType: 5 }), MEDIA_TYPES.ociManifest);
  });

  it("refuses bad descriptors wherever they appear", () => {
    const bad = [
      { ...LAYER, digest: "sha256:abc" },
      { ...LAYER, digest: LAYER.digest.toUpperCase() },
      { ...LAYER, digest: `md5:${"a".repeat(32)}` },
      { ...LAYER, digest: 5 },
      { ...LAYER, size: -1 },
      { ...LAYER, size: 1.5 },
      { ...LAYER, size: "10" },
      { ...LAYER, mediaType: "" },
      { ...LAYER, mediaType: undefined },
      { ...LAYER, annotations: ["x"] },
      "sha256:abc",
      null,
    ];
    for (const descriptor of bad) {
      const label = JSON.stringify(descriptor);
      expect(invalidDetail(enc({ ...ociImage, layers: [descriptor] }), MEDIA_TYPES.ociManifest), label).toMatch(
        /layers\[0\]/,
      );
      expect(invalidDetail(enc({ ...ociImage, config: descriptor }), MEDIA_TYPES.ociManifest), label).toMatch(/config/);
      expect(invalidDetail(enc({ ...ociIndex, manifests: [descriptor] }), MEDIA_TYPES.ociIndex), label).toMatch(
        /manifests\[0\]/,
      );
      expect(invalidDetail(enc({ ...ociImage, subject: descriptor }), MEDIA_TYPES.ociManifest), label).toMatch(
        /subject/,
      );
    }
  });
});

describe("parser differentials (oci/strict-json.ts)", () => {
  const fixed = { seed: 0x15_0008, numRuns: 300 };

  it("refuses a repeated key at any depth, escaped spellings and Go's case folding included", () => {
    const withLayers = (second: string) =>
      `{"schemaVersion":2,"mediaType":"${MEDIA_TYPES.ociManifest}","config":${JSON.stringify(CONFIG)},"layers":${JSON.stringify([LAYER])},${second}}`;
    // The review's case: a second, empty "layers" hides the first from the blob check and GC.
    expect(invalidDetail(enc(withLayers('"layers":[]')), null)).toMatch(/repeats the key "layers"/);
    expect(invalidDetail(enc(withLayers('"\\u006cayers":[]')), null)).toMatch(/repeats/);
    expect(invalidDetail(enc(withLayers('"Layers":[]')), null)).toMatch(/repeats/);
    const nested = JSON.stringify({ ...ociImage, layers: [{ ...LAYER, annotations: { a: "1" } }] }).replace(
      '"a":"1"',
      '"a":"1","a":"2"',
    );
    expect(invalidDetail(enc(nested), null)).toMatch(/repeats the key "a"/);
    expect(foldKey("\u212aind")).toBe(foldKey("kind"));
    expect(foldKey("\u017fize")).toBe(foldKey("size"));
  });

  it("refuses a UTF-8 byte order mark", () => {
    const bytes = enc(ociImage);
    const withBom = new Uint8Array([0xef, 0xbb, 0xbf, ...bytes]);
    expect(invalidDetail(withBom, null)).toMatch(/byte order mark/);
    expect(parseManifest(bytes, null).kind).toBe("image");
  });

  it("finds no duplicate in what JSON.stringify writes unless two keys fold together", () => {
    const collides = (value: unknown): boolean => {
      if (Array.isArray(value)) return value.some(collides);
      if (typeof value !== "object" || value === null) return false;
      const folded = Object.keys(value).map(foldKey);
      return new Set(folded).size !== folded.length || Object.values(value).some(collides);
    };
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        expect(findDuplicateKey(JSON.stringify(value)) !== null).toBe(collides(value));
      }),
      fixed,
    );
  });

  it("finds a key repeated in any object, however deep and however the repeat is escaped", () => {
    const key = fc.string({ minLength: 1, maxLength: 8 });
    const wrapper = fc.constantFrom(
      (t: string) => `[1,${t}]`,
      (t: string) => `{"w":${t}}`,
      (t: string) => `{"x":[],"y":{"z":${t}}}`,
    );
    fc.assert(
      fc.property(
        key,
        fc.jsonValue(),
        fc.jsonValue(),
        fc.array(wrapper, { maxLength: 6 }),
        fc.nat(),
        (k, a, b, wrappers, at) => {
          // The second spelling escapes one character as \uXXXX: the same key to every parser.
          const i = at % k.length;
          const escaped =
            JSON.stringify(k.slice(0, i)).slice(0, -1) +
            `\\u${k.charCodeAt(i).toString(16).padStart(4, "0")}` +
            JSON.stringify(k.slice(i + 1)).slice(1);
          let text = `{${JSON.stringify(k)}:${JSON.stringify(a)},"~other":0,${escaped}:${JSON.stringify(b)}}`;
          for (const wrap of wrappers) text = wrap(text);
          expect(JSON.parse(text)).toBeDefined();
          expect(findDuplicateKey(text)).toBe(k);
        },
      ),
      fixed,
    );
  });
});

describe("nesting and size of the JSON (oci/strict-json.ts measureJsonShape)", () => {
  const fixed = { seed: 0x20_0003, numRuns: 300 };
  /** Depth and keys-plus-values of a value, read from the value itself. */
  const shapeOf = (value: unknown): { depth: number; items: number } => {
    if (typeof value !== "object" || value === null) return { depth: 0, items: 1 };
    const entries = Array.isArray(value) ? value : Object.values(value);
    const inner = entries.map(shapeOf);
    const keys = Array.isArray(value) ? 0 : entries.length;
    return {
      depth: 1 + Math.max(0, ...inner.map((s) => s.depth)),
      // The scan counts one extra for an empty container (its opening with no comma or colon).
      items: 1 + keys + inner.reduce((n, s) => n + s.items, 0) + (entries.length === 0 ? 1 : 0),
    };
  };
  // Strings made of the bytes the scan looks for, so a miscounted string shows up.
  const trickyStrings = fc.jsonValue({
    stringUnit: fc.constantFrom('"', "\\", "[", "]", "{", "}", ",", ":", "a", "\u00e9", "\ud83d\ude00"),
  });

  it("agrees with the parsed value's depth and item count, whatever the strings hold", () => {
    fc.assert(
      fc.property(trickyStrings, fc.constantFrom(undefined, 2), (value, indent) => {
        const text = JSON.stringify(value, null, indent);
        expect(measureJsonShape(enc(text))).toEqual(shapeOf(JSON.parse(text)));
      }),
      fixed,
    );
  });

  it("refuses nesting deeper than MAX_JSON_DEPTH with MANIFEST_INVALID, and accepts it at the limit", () => {
    const nestedIn = (depth: number) => {
      // The manifest object itself is one level; `x-extra` adds the rest.
      const extra = "[".repeat(depth - 1) + "]".repeat(depth - 1);
      return JSON.stringify(ociImage).replace(/^\{/, `{"x-extra":${extra},`);
    };
    expect(parseManifest(enc(nestedIn(MAX_JSON_DEPTH)), null).kind).toBe("image");
    expect(invalidDetail(enc(nestedIn(MAX_JSON_DEPTH + 1)), null)).toMatch(/nests 101 arrays and objects deep/);
    // The review's case: two million nested arrays in an unknown field, 4 MB in all.
    expect(invalidDetail(enc(nestedIn(2_000_000)), null)).toMatch(/at most 100/);
  });

  it("refuses more than MAX_JSON_ITEMS keys and values before JSON.parse builds them", () => {
    const withEmpties = (n: number) =>
      JSON.stringify(ociImage).replace(/^\{/, `{"x-extra":[${Array(n).fill("{}").join(",")}],`);
    const base = measureJsonShape(enc(withEmpties(1))).items;
    // Each further `{}` adds a comma and an opening.
    const fits = 1 + Math.floor((MAX_JSON_ITEMS - base) / 2);
    expect(measureJsonShape(enc(withEmpties(fits))).items).toBeLessThanOrEqual(MAX_JSON_ITEMS);
    expect(measureJsonShape(enc(withEmpties(fits + 1))).items).toBeGreaterThan(MAX_JSON_ITEMS);
    expect(parseManifest(enc(withEmpties(fits)), null).kind).toBe("image");
    expect(invalidDetail(enc(withEmpties(fits + 1)), null)).toMatch(/keys and values; this registry accepts at most/);
  });

  it("answers for invalid JSON without throwing, leaving the refusal to JSON.parse", () => {
    for (const text of ['"unterminated', '"ends in a backslash\\', "]]]}", "[[[", '{"a":"\\"']) {
      expect(() => measureJsonShape(enc(text))).not.toThrow();
    }
    expect(invalidDetail(enc('{"a":"\\'), null)).toMatch(/not valid UTF-8 JSON/);
  });
});
