// Errors: every code of the table in src/errors.ts becomes the OCI error JSON with its status;
// malformed names, digests, references, ranges, bodies and methods get the right code and
// never a 500; storage failures answer a 5xx JSON error and leave nothing a later read can
// see; every response carries Docker-Distribution-API-Version.
import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import fc from "fast-check";
import { describe, expect, it, vi } from "vitest";
import { app, errorResponse } from "../src/app";
import { parseConfig, type Env } from "../src/config/config";
import { readBoolean, readDecimal, readInteger } from "../src/config/variables";
import { ERROR_TABLE, RegistryError, wireCode, type ErrorCode } from "../src/errors";
import { allowedMethods } from "../src/routes/endpoints";
import { SPEC_ERROR_CODES } from "../conformance/assert";
import { AUTH, BASE, OCI_MANIFEST, pushBlob, pushImage, request, seededBytes, sha256, storedKeys } from "./helpers";

fc.configureGlobal({ seed: 0x0e_2024, numRuns: 120 });

const API_VERSION = "registry/2.0";
type ErrorBody = { errors: { code: string; message: string; detail?: unknown }[] };

// distribution-spec "Error Codes": a 4xx answer's code MUST be one of these (the conformance
// runner's list).
const SPEC_CODES = [...SPEC_ERROR_CODES];

/** Statuses the table allows for a code as sent on the wire (internal names map onto it). */
function statusesOf(wire: string): number[] {
  return (Object.keys(ERROR_TABLE) as ErrorCode[])
    .filter((c) => wireCode(c) === wire)
    .map((c) => ERROR_TABLE[c].status);
}

/** Asserts the OCI error shape and returns the one error's code as sent. */
async function ociError(response: Response, label = ""): Promise<string> {
  expect(response.status, label).toBeGreaterThanOrEqual(400);
  expect(response.headers.get("Content-Type"), label).toMatch(/^application\/json/);
  expect(response.headers.get("Docker-Distribution-API-Version"), label).toBe(API_VERSION);
  const body = (await response.json()) as ErrorBody;
  expect(body.errors, label).toHaveLength(1);
  const [error] = body.errors;
  if (response.status < 500 && response.url.includes("/v2/") && !response.url.includes("/v2/token"))
    expect(SPEC_CODES, label).toContain(error!.code);
  expect(statusesOf(error!.code), `${label} status of ${error!.code}`).toContain(response.status);
  expect(typeof error!.message, label).toBe("string");
  return error!.code;
}

describe("the error table", () => {
  it("holds every code the distribution-spec defines, under its own name", () => {
    for (const code of SPEC_CODES) {
      expect(ERROR_TABLE, code).toHaveProperty(code);
      expect(wireCode(code as ErrorCode)).toBe(code);
    }
  });

  it("turns every code into the OCI error JSON with the table's status", async () => {
    for (const [code, entry] of Object.entries(ERROR_TABLE) as [ErrorCode, (typeof ERROR_TABLE)[ErrorCode]][]) {
      expect(code).toMatch(/^[A-Z_]+$/);
      expect(entry.status >= 400 && entry.status <= 599, code).toBe(true);
      const plain = errorResponse(new RegistryError(code));
      expect(plain.status).toBe(entry.status);
      expect(await plain.clone().json()).toEqual({ errors: [{ code: wireCode(code), message: entry.message }] });
      // Internal names go out as a spec code; 4xx answers use only the spec's codes.
      if (entry.status < 500) expect(SPEC_CODES, code).toContain(wireCode(code));
      expect(await ociError(plain, code)).toBe(wireCode(code));
      const detailed = errorResponse(new RegistryError(code, { why: code }, { "X-Extra": "1" }));
      expect(((await detailed.clone().json()) as ErrorBody).errors[0]).toEqual({
        code: wireCode(code),
        message: entry.message,
        detail: { why: code },
      });
      expect(detailed.headers.get("X-Extra")).toBe("1");
    }
  });
});

describe("malformed requests", () => {
  const digest = `sha256:${"a".repeat(64)}`;
  const cases: [string, string, RequestInit, string][] = [
    // Names.
    ["GET", "/v2/UPPER/tags/list", {}, "NAME_INVALID"],
    ["GET", "/v2/a..b/manifests/latest", {}, "NAME_INVALID"],
    ["GET", `/v2/-a/blobs/${digest}`, {}, "NAME_INVALID"],
    ["GET", "/v2/a//b/tags/list", {}, "NAME_INVALID"],
    ["GET", "/v2/_repos/x/tags/list", {}, "NAME_INVALID"],
    ["GET", `/v2/${"a".repeat(256)}/tags/list`, {}, "NAME_INVALID"],
    ["POST", "/v2/Bad/blobs/uploads/", {}, "NAME_INVALID"],
    ["GET", `/v2/a%20b/referrers/${digest}`, {}, "NAME_INVALID"],
    // Digests.
    ["GET", "/v2/err/blobs/sha256:xyz", {}, "DIGEST_INVALID"],
    ["GET", `/v2/err/blobs/sha256:${"a".repeat(63)}`, {}, "DIGEST_INVALID"],
    ["GET", `/v2/err/blobs/SHA256:${"a".repeat(64)}`, {}, "DIGEST_INVALID"],
    ["GET", `/v2/err/blobs/md5:${"a".repeat(32)}`, {}, "DIGEST_INVALID"],
    ["DELETE", "/v2/err/blobs/sha256:", {}, "DIGEST_INVALID"],
    ["GET", "/v2/err/referrers/latest", {}, "DIGEST_INVALID"],
    ["POST", "/v2/err/blobs/uploads/?digest=sha256:nothex", { body: "x" }, "DIGEST_INVALID"],
    // References.
    ["GET", "/v2/err/manifests/sha256:zz", {}, "DIGEST_INVALID"],
    // A name that is neither tag nor digest names no manifest: 404 (conformance v1.1.1).
    ["GET", "/v2/err/manifests/-tag", {}, "MANIFEST_UNKNOWN"],
    ["GET", `/v2/err/manifests/${"t".repeat(129)}`, {}, "MANIFEST_UNKNOWN"],
    ["PUT", "/v2/err/manifests/.tag", { body: "{}" }, "MANIFEST_INVALID"],
    ["DELETE", "/v2/err/manifests/sha256:12", {}, "DIGEST_INVALID"],
    // Unknown things.
    ["GET", `/v2/err/blobs/${digest}`, {}, "BLOB_UNKNOWN"],
    ["GET", `/v2/err/manifests/${digest}`, {}, "MANIFEST_UNKNOWN"],
    ["DELETE", `/v2/err/blobs/${digest}`, {}, "BLOB_UNKNOWN"],
    ["GET", "/v2/err/nothing-here", {}, "UNSUPPORTED"],
    ["GET", "/v3/", {}, "UNSUPPORTED"],
    // Bodies and query parameters.
    [
      "PUT",
      "/v2/err/manifests/t",
      { body: "{not json", headers: { "Content-Type": OCI_MANIFEST } },
      "MANIFEST_INVALID",
    ],
    ["PUT", "/v2/err/manifests/t", { body: "[]", headers: { "Content-Type": OCI_MANIFEST } }, "MANIFEST_INVALID"],
    [
      "PUT",
      "/v2/err/manifests/t?tag=a:b",
      { body: "{}", headers: { "Content-Type": OCI_MANIFEST } },
      "MANIFEST_INVALID",
    ],
    ["GET", "/v2/err/tags/list?n=many", {}, "UNSUPPORTED"],
    ["GET", "/v2/_catalog?n=-5", {}, "UNSUPPORTED"],
  ];

  it.each(cases)("%s %s answers its OCI error", async (method, path, init, code) => {
    const response = await request(path, { method, ...init });
    expect(await ociError(response, `${method} ${path}`)).toBe(code);
  });

  it("answers a method an endpoint does not have with 405, Allow and an OCI error", async () => {
    for (const [method, path, allow] of [
      ["PATCH", "/v2/err/manifests/latest", "GET, HEAD, PUT, DELETE"],
      ["POST", "/v2/err/tags/list", "GET, HEAD"],
      ["PUT", `/v2/err/referrers/sha256:${"a".repeat(64)}`, "GET, HEAD"],
      ["DELETE", "/v2/_catalog", "GET, HEAD"],
      ["POST", `/v2/err/blobs/sha256:${"a".repeat(64)}`, "GET, HEAD, DELETE"],
      ["GET", "/v2/err/blobs/uploads/", "POST"],
      ["POST", "/v2/err/blobs/uploads/some-session", "GET, HEAD, PATCH, PUT, DELETE"],
      ["PUT", "/v2/", "GET, HEAD"],
    ] as const) {
      const response = await request(path, { method });
      expect(response.status, `${method} ${path}`).toBe(405);
      expect(response.headers.get("Allow"), `${method} ${path}`).toBe(allow);
      expect(await ociError(response, `${method} ${path}`)).toBe("UNSUPPORTED");
    }
  });

  it("routes every method the endpoint table allows to a handler", async () => {
    const digest = `sha256:${"b".repeat(64)}`;
    for (const path of [
      "/v2/",
      "/v2/_catalog",
      "/v2/_gc/reports",
      "/v2/err/blobs/uploads/",
      "/v2/err/blobs/uploads/some-session",
      `/v2/err/blobs/${digest}`,
      "/v2/err/manifests/latest",
      "/v2/err/tags/list",
      `/v2/err/referrers/${digest}`,
    ]) {
      for (const method of allowedMethods(path) ?? []) {
        const response = await request(path, { method, headers: { "Content-Length": "0" } });
        const label = `${method} ${path}`;
        expect(response.status, label).not.toBe(405);
        // The fallback's 404 is UNSUPPORTED; a handler's 404 names what it did not find.
        if (response.status === 404 && method !== "HEAD")
          expect(await ociError(response, label), label).not.toBe("UNSUPPORTED");
      }
    }
  });

  it("answers a path that is no endpoint with 404", async () => {
    for (const [method, path] of [
      ["GET", "/v2/err/nothing-here"],
      ["POST", "/v2/err/manifests"],
      ["GET", "/v2/err/tags/other"],
    ] as const) {
      const response = await request(path, { method });
      expect(response.status, `${method} ${path}`).toBe(404);
      await ociError(response, `${method} ${path}`);
    }
  });

  it("answers unsatisfiable and malformed ranges with 416 SIZE_INVALID", async () => {
    const blob = await pushBlob("err/range", seededBytes(100, 5));
    for (const range of ["bytes=100-", "bytes=200-300", "bytes=-0", "bytes=5-1", "bytes=a-b"]) {
      const response = await request(`/v2/err/range/blobs/${blob}`, { headers: { Range: range } });
      expect(response.status, range).toBe(416);
      expect(response.headers.get("Content-Range"), range).toBe("bytes */100");
      expect(await ociError(response, range)).toBe("SIZE_INVALID");
    }
  });

  it("never answers a 500 to any path, method and body under /v2/", async () => {
    const segment = fc.constantFrom(
      "fz",
      "a",
      "A",
      "_x",
      "..",
      "manifests",
      "blobs",
      "uploads",
      "tags",
      "list",
      "referrers",
      "latest",
      "sha256:12",
      `sha256:${"b".repeat(64)}`,
      "%2F",
      "",
    );
    const path = fc.array(segment, { minLength: 1, maxLength: 6 }).map((parts) => `/v2/fz/${parts.join("/")}`);
    const query = fc.constantFrom("", "?n=1", "?n=x", "?last=%00", "?digest=sha256:1", "?mount=x&from=Y", "?tag=-");
    const method = fc.constantFrom("GET", "HEAD", "PUT", "POST", "PATCH", "DELETE", "OPTIONS");
    const body = fc.constantFrom(undefined, "", "{}", "not json", '{"schemaVersion":2,"mediaType":5}');
    await fc.assert(
      fc.asyncProperty(method, path, query, body, async (m, p, q, b) => {
        const response = await request(p + q, { method: m, body: m === "GET" || m === "HEAD" ? undefined : b });
        const label = `${m} ${p}${q}`;
        expect(response.status, label).toBeLessThan(500);
        expect(response.headers.get("Docker-Distribution-API-Version"), label).toBe(API_VERSION);
        if (response.status >= 400 && m !== "HEAD") await ociError(response, label);
        else await response.body?.cancel();
      }),
    );
  }, 120_000);
});

describe("Docker-Distribution-API-Version", () => {
  it("is on every response: success, HEAD, redirects, errors and challenges", async () => {
    const image = await pushImage("err/version", "t", 3);
    const responses = [
      await request("/v2/"),
      await request("/v2/", { auth: null }),
      await request("/v2/err/version/manifests/t"),
      await request("/v2/err/version/manifests/t", { method: "HEAD" }),
      await request(`/v2/err/version/blobs/${image.layerDigest}`, { method: "HEAD" }),
      await request("/v2/err/version/tags/list"),
      await request(`/v2/err/version/referrers/${image.digest}`),
      await request("/v2/_catalog?n=1"),
      await request("/v2/err/version/blobs/uploads/", { method: "POST" }),
      await request("/v2/err/version/manifests/missing"),
      await request("/nowhere"),
    ];
    for (const response of responses) {
      expect(response.headers.get("Docker-Distribution-API-Version"), `${response.status} ${response.url}`).toBe(
        API_VERSION,
      );
      await response.body?.cancel();
    }
  });
});

describe("storage failures", () => {
  /** The real bucket, except that writes to keys matching `fail` throw, as an R2 outage would. */
  function failingEnv(fail: (key: string) => boolean): Env {
    const bucket = (env as unknown as Env).REGISTRY;
    const wrapped = new Proxy(bucket, {
      get(target, prop) {
        const value = Reflect.get(target, prop) as unknown;
        if (typeof value !== "function") return value;
        return (...args: unknown[]) => {
          if (prop === "put" && typeof args[0] === "string" && fail(args[0]))
            throw new Error(`injected R2 failure on ${args[0]}`);
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
    return { ...(env as unknown as Env), REGISTRY: wrapped };
  }
  const put = (e: Env, path: string, body: string) =>
    app.fetch(
      new Request(BASE + path, { method: "PUT", body, headers: { Authorization: AUTH, "Content-Type": OCI_MANIFEST } }),
      e,
      createExecutionContext(),
    );

  it("answers a failed manifest write with a 5xx OCI error and nothing readable", async () => {
    const image = await pushImage("err/storage", "base", 4);
    const body = image.body.replace("{", '{"annotations":{"v":"2"},');
    const response = await put(
      failingEnv((key) => key.startsWith(storedKeys.manifestPrefix("err/storage"))),
      "/v2/err/storage/manifests/next",
      body,
    );
    expect(response.status).toBeGreaterThanOrEqual(500);
    await ociError(response);
    expect((await request("/v2/err/storage/manifests/next")).status).toBe(404);
    expect((await request(`/v2/err/storage/manifests/${sha256(body)}`)).status).toBe(404);
  });

  it("leaves no tag behind when one tag of a multi-tag PUT fails", async () => {
    const image = await pushImage("err/tags", "base", 5);
    const body = image.body.replace("{", '{"annotations":{"v":"3"},');
    const failing = failingEnv((key) => key === storedKeys.tag("err/tags", "b"));
    const response = await put(failing, `/v2/err/tags/manifests/${sha256(body)}?tag=a&tag=b`, body);
    expect(response.status).toBeGreaterThanOrEqual(500);
    await ociError(response);
    expect((await request(`/v2/err/tags/manifests/${sha256(body)}`)).status).toBe(404);
    expect((await request("/v2/err/tags/manifests/a")).status).toBe(404);
    const tags = (await (await request("/v2/err/tags/tags/list")).json()) as { tags: string[] };
    expect(tags.tags).toEqual(["base"]);
  });

  it("keeps a manifest that was already there when re-tagging it fails", async () => {
    // The same bytes pushed again under a new tag: a failure must not delete what "base"
    // already points to.
    const image = await pushImage("err/retag", "base", 6);
    const response = await put(
      failingEnv((key) => key === storedKeys.tag("err/retag", "second")),
      "/v2/err/retag/manifests/second",
      image.body,
    );
    expect(response.status).toBeGreaterThanOrEqual(500);
    await ociError(response);
    const base = await request("/v2/err/retag/manifests/base");
    expect(base.status).toBe(200);
    expect(await base.text()).toBe(image.body);
    expect((await request("/v2/err/retag/manifests/second")).status).toBe(404);
  });
});

describe("configuration errors", () => {
  it("answer a bare 503 OCI error to anyone, with the detail only in the log", async () => {
    const broken: [string, Partial<Env>][] = [
      ["AUTH_USERS_JSON", { AUTH_USERS_JSON: JSON.stringify({ alice: { password: "plaintext-secret" } }) }],
      ["CATALOG_MAX_PAGE", { CATALOG_MAX_PAGE: "lots" }],
      ["REGISTRIES_JSON", { REGISTRIES_JSON: "[{" }],
      // Below R2's 5 MiB minimum part: every multipart completion would fail in production.
      ["UPLOAD_PART_SIZE", { UPLOAD_PART_SIZE: String(1024 * 1024) }],
      // Without the bucket the copy goes to, the first anonymous pull would fail instead.
      ["PUBLIC_BLOBS", { BLOB_REDIRECT: "public:https://blobs.example.com" }],
    ];
    for (const [variable, overrides] of broken) {
      const log = vi.spyOn(console, "error").mockImplementation(() => {});
      const variant = { ...(env as unknown as Env), ...overrides } as Env;
      const response = await app.fetch(new Request(`${BASE}/v2/`), variant, createExecutionContext());
      expect(response.status, variable).toBe(503);
      const text = await response.clone().text();
      expect(await ociError(response, variable)).toBe("UNAVAILABLE");
      for (const secret of [variable, "alice", "plaintext", "configuration"])
        expect(text, variable).not.toContain(secret);
      expect(log.mock.calls.flat().join("\n"), variable).toContain(variable);
      log.mockRestore();
    }
  });

  // A number or switch variable of any module (limits, auth, events, delivery) is read by
  // src/config/variables.ts: Number() alone took "0x10", "1e3" and " 5" for some of them.
  const presigned = {
    BLOB_REDIRECT: "presigned",
    R2_ACCOUNT_ID: "0".repeat(32),
    R2_BUCKET_NAME: "registry",
    R2_ACCESS_KEY_ID: "key",
    R2_SECRET_ACCESS_KEY: "secret",
  };
  const numeric: [string, Partial<Env>][] = [
    ["CATALOG_MAX_PAGE", {}],
    ["GC_GRACE_SECONDS", {}],
    ["AUTH_TOKEN_TTL_SECONDS", {}],
    ["EVENTS_RETENTION_DAYS", {}],
    ["BLOB_REDIRECT_TTL_SECONDS", presigned],
  ];

  it("refuse a number not written in plain decimal digits, for every module's variables", () => {
    for (const [name, base] of numeric) {
      const variant = (value: string) => ({ ...(env as unknown as Env), ...base, [name]: value }) as Env;
      expect(() => parseConfig(variant("300")), name).not.toThrow();
      for (const written of ["0x12c", "3e2", " 300", "300 ", "+300", "300.0", "3_00"])
        expect(() => parseConfig(variant(written)), `${name}=${JSON.stringify(written)}`).toThrow(
          new RegExp(`configuration: ${name} must be an integer between`),
        );
    }
    for (const written of ["yes", "TRUE", " true"])
      expect(() => parseConfig({ ...(env as unknown as Env), GC_UNTAGGED: written } as Env), written).toThrow(
        /configuration: GC_UNTAGGED must be true or false/,
      );
  });

  it("read back any value in range as written, and refuse any other string (property)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1_000_000 }), fc.integer({ min: 0, max: 1_000_000 }), (a, b) => {
        const [min, max] = a <= b ? [a, b] : [b, a];
        const value = min + Math.floor((max - min) / 2);
        expect(readInteger({ N: String(value) }, "N", -1, min, max)).toBe(value);
        expect(readInteger({}, "N", -1, min, max)).toBe(-1);
        expect(readInteger({ N: "" }, "N", -1, min, max)).toBe(-1);
        expect(() => readInteger({ N: String(max + 1) }, "N", -1, min, max)).toThrow();
        if (min > 0) expect(() => readInteger({ N: String(min - 1) }, "N", -1, min, max)).toThrow();
      }),
    );
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 12 }), (written) => {
        const plain = /^\d+$/.test(written);
        const read = () => readInteger({ N: written }, "N", -1, 0, Number.MAX_SAFE_INTEGER);
        if (plain && Number.isSafeInteger(Number(written))) expect(read()).toBe(Number(written));
        else expect(read).toThrow(/configuration: N must be an integer between 0 and/);
        const decimal = () => readDecimal({ N: written }, "N", -1, 0, Number.MAX_SAFE_INTEGER);
        if (/^\d+(\.\d+)?$/.test(written)) expect(decimal()).toBe(Number(written));
        else expect(decimal).toThrow(/configuration: N must be a number between 0 and/);
        const flag = () => readBoolean({ N: written }, "N", false);
        if (["true", "1"].includes(written)) expect(flag()).toBe(true);
        else if (["false", "0"].includes(written)) expect(flag()).toBe(false);
        else expect(flag).toThrow(/configuration: N must be true or false/);
      }),
    );
  });
});
