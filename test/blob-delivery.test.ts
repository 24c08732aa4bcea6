// How blob GETs are delivered (docs/delivery.md). The edge cache (src/storage/edge-cache.ts)
// and the remembered links beside it (src/storage/link-cache.ts): a warm pull of a blob makes
// no R2 operation, and nothing cached is ever served past the rights and the repository's
// link. BLOB_REDIRECT: its variables (src/config/delivery.ts), a presigned redirect only
// after the rights and the link, and public copies for anonymously pullable repositories
// only. test/e2e/delivery.test.ts checks the signatures against botocore and the clients.
import { createExecutionContext, reset, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import fc from "fast-check";
import { beforeEach, describe, expect, it, vi } from "vitest";
import type { Env } from "../src/config/config";
import { parseBlobDelivery, type DeliveryVariables } from "../src/config/delivery";
import { parseBareOrigin } from "../src/config/origin";
import { fetcher, PASSWORDS, usersJson } from "./auth-setup";
import { client } from "./ui-client";
import { deleteManifest, gcEnv, runGc } from "./gc-helpers";
import {
  basic,
  errorCode,
  meteredRequest,
  OCI_MANIFEST,
  pushBlob,
  pushImage,
  pushManifest,
  seededBytes,
  sha256,
} from "./helpers";

beforeEach(async () => {
  await reset();
});

/** A metered GET (or HEAD) whose body is read and whose background work (the cache fill) is
 *  waited for; returns the status, the bytes and the R2 operations the answer made. */
async function pull(path: string, init: RequestInit & { auth?: string | null } = {}, target?: Env) {
  const ctx = createExecutionContext();
  const { response, usage } = await meteredRequest(path, init, target, ctx);
  const bytes = new Uint8Array(await response.arrayBuffer());
  await waitOnExecutionContext(ctx);
  return { status: response.status, headers: response.headers, bytes, r2: usage.r2ClassA + usage.r2ClassB };
}

/** A 5-layer image in `repo` under `tag`: the paths a pull by digest reads, manifest first. */
async function fiveLayerImage(repo: string, tag: string): Promise<{ digest: string; paths: string[] }> {
  const config = new TextEncoder().encode(JSON.stringify({ architecture: "amd64", os: "linux" }));
  const layers = [1, 2, 3, 4, 5].map((seed) => seededBytes(20_000 + seed, seed));
  const descriptor = (mediaType: string, bytes: Uint8Array) => ({
    mediaType,
    digest: sha256(bytes),
    size: bytes.length,
  });
  for (const blob of [config, ...layers]) await pushBlob(repo, blob);
  const body = JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: descriptor("application/vnd.oci.image.config.v1+json", config),
    layers: layers.map((layer) => descriptor("application/vnd.oci.image.layer.v1.tar+gzip", layer)),
  });
  expect((await pushManifest(repo, tag, body)).status).toBe(201);
  const digest = sha256(body);
  const blobs = [config, ...layers].map((blob) => `/v2/${repo}/blobs/${sha256(blob)}`);
  return { digest, paths: [`/v2/${repo}/manifests/${digest}`, ...blobs] };
}

describe("a warm pull of a 5-layer image", () => {
  it("by digest reads nothing from R2; by tag, only the tag", async () => {
    const image = await fiveLayerImage("edge/five", "v1");
    const accept = { headers: { Accept: OCI_MANIFEST } };
    let cold = 0;
    for (const path of image.paths) cold += (await pull(path, accept)).r2;
    let warm = 0;
    for (const path of image.paths) {
      const answer = await pull(path, accept);
      expect(answer.status, path).toBe(200);
      expect(sha256(answer.bytes), path).toBe(path.slice(path.lastIndexOf("/") + 1));
      warm += answer.r2;
    }
    console.log(`5-layer pull by digest: ${cold} R2 operations cold, ${warm} warm`);
    expect(warm).toBe(0);
    const byTag = await pull("/v2/edge/five/manifests/v1", accept);
    expect(byTag.status).toBe(200);
    expect(sha256(byTag.bytes)).toBe(image.digest);
    expect(byTag.r2, "the tag's read").toBe(1);
  });

  it("sees a manifest DELETE in this isolate at once", async () => {
    const image = await fiveLayerImage("edge/gone", "v1");
    const manifest = image.paths[0]!;
    await pull(manifest);
    expect((await pull(manifest)).r2).toBe(0);
    expect((await pull(manifest, { method: "DELETE" })).status).toBe(202);
    expect((await pull(manifest)).status).toBe(404);
    expect((await pull(manifest, { method: "HEAD" })).status).toBe(404);
  });
});

describe("warm pulls", () => {
  it("serve a blob, whole, in a range and as HEAD, with no R2 operation", async () => {
    const bytes = seededBytes(300_000, 3);
    const digest = await pushBlob("edge/warm", bytes);
    const path = `/v2/edge/warm/blobs/${digest}`;
    const log = vi.spyOn(console, "log");
    const cold = await pull(path);
    const fills = log.mock.calls.filter((call) => call[0] === "edge-cache fill").map((call) => JSON.parse(call[1]));
    log.mockRestore();
    expect(cold.status).toBe(200);
    // The link and the bytes; the fill's own read is on its own meter and log line.
    expect(cold.r2).toBe(2);
    expect(fills).toEqual([
      { digest, bytes: bytes.length, stored: true, r2ClassA: 0, r2ClassB: 1, r2Free: 0, kvReads: 0, kvWrites: 0 },
    ]);
    const warm = await pull(path);
    expect(warm.status).toBe(200);
    expect(sha256(warm.bytes)).toBe(digest);
    expect(warm.r2).toBe(0);
    expect(warm.headers.get("Cache-Control")).toBe("private, max-age=31536000, immutable");
    expect(warm.headers.get("Content-Length")).toBe(String(bytes.length));
    const part = await pull(path, { headers: { Range: "bytes=1000-1999" } });
    expect(part.status).toBe(206);
    expect(part.headers.get("Content-Range")).toBe(`bytes 1000-1999/${bytes.length}`);
    expect(part.bytes).toEqual(bytes.slice(1000, 2000));
    expect(part.r2).toBe(0);
    const head = await pull(path, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(head.headers.get("Content-Length")).toBe(String(bytes.length));
    expect(head.r2).toBe(0);
  });

  it("read R2 again when the edge cache is off (EDGE_CACHE_MAX_BYTES=0) or the blob is larger", async () => {
    const bytes = seededBytes(5000, 4);
    const digest = await pushBlob("edge/off", bytes);
    const off = { ...(env as unknown as Env), EDGE_CACHE_MAX_BYTES: "0" };
    await pull(`/v2/edge/off/blobs/${digest}`, {}, off);
    const again = await pull(`/v2/edge/off/blobs/${digest}`, {}, off);
    expect(sha256(again.bytes)).toBe(digest);
    expect(again.r2, "the link is remembered; the bytes come from R2").toBe(1);
    const small = { ...(env as unknown as Env), EDGE_CACHE_MAX_BYTES: String(bytes.length - 1) };
    expect((await pull(`/v2/edge/off/blobs/${digest}`, {}, small)).r2).toBe(1);
  });
});

describe("nothing cached is served past the rights and the link", () => {
  const bytes = seededBytes(4000, 9);
  const digest = sha256(bytes);
  /** The blob pushed to team-a/app and pulled once, so the edge cache holds it. */
  async function warmed(): Promise<Env> {
    const users = await usersJson();
    const target = { ...(env as unknown as Env), AUTH_USERS_JSON: users };
    const push = await fetcher({ AUTH_USERS_JSON: users })(`/v2/team-a/app/blobs/uploads/?digest=${digest}`, {
      method: "POST",
      body: bytes,
      headers: { Authorization: basic("alice", PASSWORDS.alice) },
    });
    expect(push.status).toBe(201);
    const first = await pull(`/v2/team-a/app/blobs/${digest}`, { auth: basic("alice", PASSWORDS.alice) }, target);
    expect(first.status).toBe(200);
    expect((await pull(`/v2/team-a/app/blobs/${digest}`, { auth: basic("alice", PASSWORDS.alice) }, target)).r2).toBe(
      0,
    );
    return target;
  }

  it("another repository that does not link it: BLOB_UNKNOWN", async () => {
    const target = await warmed();
    const other = await pull(`/v2/team-a/other/blobs/${digest}`, { auth: basic("alice", PASSWORDS.alice) }, target);
    expect(other.status).toBe(404);
  });

  it("another user, who may not pull the repository: refused", async () => {
    const target = await warmed();
    const bob = await pull(`/v2/team-a/app/blobs/${digest}`, { auth: basic("bob", PASSWORDS.bob) }, target);
    expect(bob.status).toBe(403);
    expect(bob.bytes.length).toBeLessThan(1000);
  });

  it("anonymous, when the repository is private: refused", async () => {
    const target = await warmed();
    const anonymous = await pull(`/v2/team-a/app/blobs/${digest}`, { auth: null }, target);
    expect(anonymous.status).toBe(401);
  });

  it("after a DELETE of the blob in this isolate: BLOB_UNKNOWN at once", async () => {
    const target = await warmed();
    const alice = basic("alice", PASSWORDS.alice);
    const removed = await pull(`/v2/team-a/app/blobs/${digest}`, { method: "DELETE", auth: alice }, target);
    expect(removed.status).toBe(202);
    const after = await pull(`/v2/team-a/app/blobs/${digest}`, { auth: alice }, target);
    expect(after.status).toBe(404);
  });
});

it("after the collector frees a blob, a warm pull of it finds nothing", async () => {
  const image = await pushImage("edge/gc", "v1", 11);
  const path = `/v2/edge/gc/blobs/${image.layerDigest}`;
  await pull(path);
  expect((await pull(path)).r2).toBe(0);
  expect(await deleteManifest("edge/gc", image.digest)).toBe(202);
  await runGc(gcEnv({ GC_GRACE_SECONDS: "0" }));
  const after = await pull(path);
  expect(after.status).toBe(404);
  expect(await errorCode(new Response(after.bytes))).toBe("BLOB_UNKNOWN");
});

describe("BLOB_REDIRECT's variables", () => {
  const presigned = {
    BLOB_REDIRECT: "presigned",
    R2_ACCOUNT_ID: "0123456789abcdef0123456789abcdef",
    R2_BUCKET_NAME: "my-registry",
    R2_ACCESS_KEY_ID: "key-id",
    R2_SECRET_ACCESS_KEY: "secret",
  };
  it.each<[string, DeliveryVariables, object | RegExp]>([
    ["unset: the Worker streams", {}, { mode: "worker" }],
    ["off", { BLOB_REDIRECT: "off" }, { mode: "worker" }],
    [
      "presigned, from the account id",
      presigned,
      {
        mode: "presigned",
        endpoint: "https://0123456789abcdef0123456789abcdef.r2.cloudflarestorage.com",
        bucket: "my-registry",
        expiresSeconds: 600,
      },
    ],
    [
      "presigned, at another endpoint",
      { ...presigned, R2_ACCOUNT_ID: "", R2_S3_ENDPOINT: "https://eu.example.com", BLOB_REDIRECT_TTL_SECONDS: "60" },
      { endpoint: "https://eu.example.com", expiresSeconds: 60 },
    ],
    ["presigned without a secret", { ...presigned, R2_SECRET_ACCESS_KEY: "" }, /needs R2_SECRET_ACCESS_KEY/],
    ["presigned without account or endpoint", { ...presigned, R2_ACCOUNT_ID: "" }, /needs R2_ACCOUNT_ID/],
    ["a bad account id", { ...presigned, R2_ACCOUNT_ID: "acme" }, /R2_ACCOUNT_ID must be/],
    ["a bad bucket name", { ...presigned, R2_BUCKET_NAME: "My_Bucket" }, /R2_BUCKET_NAME must be/],
    ["plain http off this machine", { ...presigned, R2_S3_ENDPOINT: "http://storage.example.com" }, /https origin/],
    ["an endpoint with a path", { ...presigned, R2_S3_ENDPOINT: "https://example.com/bucket" }, /https origin/],
    ["a TTL of 0", { ...presigned, BLOB_REDIRECT_TTL_SECONDS: "0" }, /BLOB_REDIRECT_TTL_SECONDS/],
    ["a TTL over an hour", { ...presigned, BLOB_REDIRECT_TTL_SECONDS: "3601" }, /BLOB_REDIRECT_TTL_SECONDS/],
    [
      "public",
      { BLOB_REDIRECT: "public:https://blobs.example.com", PUBLIC_BLOBS: {} },
      { mode: "public", base: "https://blobs.example.com" },
    ],
    ["public over http", { BLOB_REDIRECT: "public:http://blobs.example.com", PUBLIC_BLOBS: {} }, /https origin/],
    [
      "public without the PUBLIC_BLOBS bucket",
      { BLOB_REDIRECT: "public:https://blobs.example.com" },
      /BLOB_REDIRECT=public needs the PUBLIC_BLOBS bucket binding/,
    ],
    ["another word", { BLOB_REDIRECT: "s3" }, /BLOB_REDIRECT must be off, presigned or public/],
  ])("%s", (_name, vars, expected) => {
    if (expected instanceof RegExp) expect(() => parseBlobDelivery(vars)).toThrow(expected);
    else expect(parseBlobDelivery(vars)).toMatchObject(expected);
  });

  it("reads an origin as an origin and refuses anything more (parseBareOrigin, PUBLIC_URL's too)", () => {
    const origins = fc
      .record({
        scheme: fc.constantFrom("https", "http"),
        host: fc.domain(),
        port: fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined }),
      })
      .map(({ scheme, host, port }) => new URL(`${scheme}://${host}${port === undefined ? "" : `:${port}`}`).origin);
    const extras = fc.constantFrom("/bucket", "/a/", "?x=1", "/?x", "#top", "/#top");
    fc.assert(
      fc.property(origins, (origin) => {
        expect(parseBareOrigin(origin)?.origin).toBe(origin);
        expect(parseBareOrigin(`${origin}/`)?.origin).toBe(origin);
      }),
    );
    fc.assert(
      fc.property(origins, extras, (origin, extra) => {
        expect(parseBareOrigin(`${origin}${extra}`)).toBeNull();
      }),
    );
    fc.assert(
      fc.property(origins, (origin) => {
        expect(parseBareOrigin(origin.replace("://", "://user:secret@"))).toBeNull();
      }),
    );
    expect(parseBareOrigin("not a url")).toBeNull();
  });
});

describe("BLOB_REDIRECT=presigned", () => {
  const account = "0123456789abcdef0123456789abcdef";
  const presigned = (extra: Record<string, string> = {}) =>
    ({
      ...(env as unknown as Env),
      BLOB_REDIRECT: "presigned",
      R2_ACCOUNT_ID: account,
      R2_BUCKET_NAME: "my-registry",
      R2_ACCESS_KEY_ID: "key-id",
      R2_SECRET_ACCESS_KEY: "secret",
      ...extra,
    }) as Env;

  it("redirects a GET to the blob's object, after the link; HEAD and Range answers stay the registry's", async () => {
    const bytes = seededBytes(50_000, 21);
    const digest = await pushBlob("signed/app", bytes);
    const target = presigned();
    const path = `/v2/signed/app/blobs/${digest}`;
    const answer = await pull(path, { redirect: "manual" }, target);
    expect(answer.status).toBe(307);
    expect(answer.bytes.length).toBe(0);
    expect(answer.headers.get("Docker-Content-Digest")).toBe(digest);
    expect(answer.headers.get("Cache-Control")).toBe("private, no-store");
    const location = new URL(answer.headers.get("Location")!);
    expect(location.origin).toBe(`https://${account}.r2.cloudflarestorage.com`);
    expect(location.pathname).toMatch(/^\/my-registry\/_data\/[^/]+$/);
    expect(location.searchParams.get("X-Amz-Expires")).toBe("600");
    expect(location.searchParams.get("X-Amz-Credential")).toMatch(/^key-id\/\d{8}\/auto\/s3\/aws4_request$/);
    expect(answer.r2, "the link only: the bytes are R2's to serve").toBeLessThanOrEqual(1);

    const head = await pull(path, { method: "HEAD" }, target);
    expect(head.status).toBe(200);
    expect(head.headers.get("Location")).toBeNull();
    const unsatisfiable = await pull(path, { headers: { Range: "bytes=999999-" }, redirect: "manual" }, target);
    expect(unsatisfiable.status).toBe(416);
  });

  it("never redirects the web UI's download: it streams the file with its name and type", async () => {
    const bytes = new TextEncoder().encode('{"bomFormat":"CycloneDX"}');
    const digest = await pushBlob("signed/ui", bytes);
    const c = client({
      BLOB_REDIRECT: "presigned",
      R2_ACCOUNT_ID: account,
      R2_BUCKET_NAME: "my-registry",
      R2_ACCESS_KEY_ID: "key-id",
      R2_SECRET_ACCESS_KEY: "secret",
    });
    await c.signIn("tester", "test-password");
    const file = await c.fetchPage(`/r/signed/ui/-/blob/${digest}?type=application/json`);
    expect(file.status).toBe(200);
    expect(file.headers.get("Location")).toBeNull();
    expect(file.headers.get("Content-Disposition")).toBe(`attachment; filename="${digest.slice(7)}.json"`);
    expect(new Uint8Array(await file.arrayBuffer())).toEqual(bytes);
  });

  it("redirects nobody who may not pull, and nothing the repository does not link", async () => {
    const users = await usersJson();
    const bytes = seededBytes(4000, 22);
    const digest = sha256(bytes);
    const push = await fetcher({ AUTH_USERS_JSON: users })(`/v2/team-a/app/blobs/uploads/?digest=${digest}`, {
      method: "POST",
      body: bytes,
      headers: { Authorization: basic("alice", PASSWORDS.alice) },
    });
    expect(push.status).toBe(201);
    const target = presigned({ AUTH_USERS_JSON: users });
    const path = `/v2/team-a/app/blobs/${digest}`;
    const alice = await pull(path, { auth: basic("alice", PASSWORDS.alice), redirect: "manual" }, target);
    expect(alice.status).toBe(307);
    for (const [who, auth, status] of [
      ["bob", basic("bob", PASSWORDS.bob), 403],
      ["anonymous", null, 401],
    ] as const) {
      const refused = await pull(path, { auth, redirect: "manual" }, target);
      expect(refused.status, who).toBe(status);
      expect(refused.headers.get("Location"), who).toBeNull();
    }
    const other = await pull(
      `/v2/team-a/other/blobs/${digest}`,
      { auth: basic("alice", PASSWORDS.alice), redirect: "manual" },
      target,
    );
    expect(other.status).toBe(404);
    expect(other.headers.get("Location")).toBeNull();
  });
});

describe("BLOB_REDIRECT=public", () => {
  const publicBucket = () => (env as unknown as { TEST_PUBLIC_BLOBS: R2Bucket }).TEST_PUBLIC_BLOBS;
  const publicMode = (extra: Record<string, string> = {}) =>
    ({
      ...(env as unknown as Env),
      BLOB_REDIRECT: "public:https://blobs.example.com",
      ANONYMOUS_PULL: "open/*",
      PUBLIC_BLOBS: publicBucket(),
      ...extra,
    }) as Env;

  it("copies a public repository's blob on its first pull, then redirects to the copy", async () => {
    const bytes = seededBytes(60_000, 31);
    const digest = await pushBlob("open/app", bytes);
    const path = `/v2/open/app/blobs/${digest}`;
    const log = vi.spyOn(console, "log");
    const first = await pull(path, { auth: null, redirect: "manual" }, publicMode());
    const behind = log.mock.calls.map((call) => call[0]).filter((label) => /fill|copy/.test(String(label)));
    log.mockRestore();
    expect(first.status).toBe(200);
    expect(sha256(first.bytes)).toBe(digest);
    // The copy serves every later pull, so the edge cache is not filled beside it.
    expect(behind).toEqual(["public-blobs copy"]);
    const copy = await publicBucket().get(`blobs/sha256/${digest.slice(7)}`);
    expect(copy).not.toBeNull();
    expect(sha256(new Uint8Array(await copy!.arrayBuffer()))).toBe(digest);
    const second = await pull(path, { auth: null, redirect: "manual" }, publicMode());
    expect(second.status).toBe(307);
    expect(second.headers.get("Location")).toBe(`https://blobs.example.com/blobs/sha256/${digest.slice(7)}`);
  });

  it("never redirects a private repository, nor copies its blobs", async () => {
    const bytes = seededBytes(7000, 32);
    const digest = await pushBlob("closed/app", bytes);
    const path = `/v2/closed/app/blobs/${digest}`;
    for (let i = 0; i < 2; i++) {
      const answer = await pull(path, { redirect: "manual" }, publicMode());
      expect(answer.status).toBe(200);
      expect(answer.headers.get("Location")).toBeNull();
    }
    expect(await publicBucket().head(`blobs/sha256/${digest.slice(7)}`)).toBeNull();
  });

  it("drops the copy when the collector frees the blob", async () => {
    const image = await pushImage("open/gc", "v1", 33);
    const path = `/v2/open/gc/blobs/${image.layerDigest}`;
    await pull(path, { auth: null }, publicMode());
    const key = `blobs/sha256/${image.layerDigest.slice(7)}`;
    expect(await publicBucket().head(key)).not.toBeNull();
    expect(await deleteManifest("open/gc", image.digest)).toBe(202);
    await runGc(gcEnv({ PUBLIC_BLOBS: publicBucket() } as unknown as Record<string, string>));
    expect(await publicBucket().head(key)).toBeNull();
    expect((await pull(path, { auth: null, redirect: "manual" }, publicMode())).status).toBe(404);
  });
});
