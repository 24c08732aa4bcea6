// Pull-through cache against real upstreams: distribution 2.8 (open, then htpasswd), a second
// instance of this registry (Bearer tokens from its /v2/token), and a scripted server that
// serves corrupt bytes. Each mirror is this registry under `npm start`'s runtime with REGISTRIES_JSON.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { E2E_AUTH, E2E_CREDENTIALS, startRegistry, type RegistryServer } from "./registry-server";
import { sha256 } from "../shared-helpers";
import { get as httpGet, type ServerResponse } from "node:http";
import {
  makeImage,
  pushImage,
  startDistribution,
  startScriptedUpstream,
  UPSTREAM_AUTH,
  UPSTREAM_USER,
  type TestImage,
  type Upstream,
} from "./upstreams";

const ACCEPT = "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json";
// Long enough that a test's own requests fit inside it, short enough to wait out.
const TTL_SECONDS = 5;

function get(mirror: RegistryServer, path: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${mirror.url}/v2/${path}`, {
    ...init,
    headers: { Authorization: E2E_AUTH, Accept: ACCEPT, ...init.headers },
  });
}

/** Pulls manifest and blobs through the mirror; every digest must come back unchanged. */
async function pullImage(mirror: RegistryServer, repo: string, ref: string, image: TestImage): Promise<Response> {
  const manifest = await get(mirror, `${repo}/manifests/${ref}`);
  const body = await manifest.text();
  expect(manifest.status, body).toBe(200);
  expect(manifest.headers.get("Docker-Content-Digest")).toBe(image.digest);
  expect(sha256(body)).toBe(image.digest);
  for (const digest of image.blobs.keys()) {
    const blob = await get(mirror, `${repo}/blobs/${digest}`);
    expect(blob.status).toBe(200);
    expect(sha256(new Uint8Array(await blob.arrayBuffer()))).toBe(digest);
  }
  return manifest;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("open distribution upstream", () => {
  let upstream: Upstream;
  let mirror: RegistryServer;
  const v1 = makeImage(1, 3 * 1024 * 1024 + 17);
  const v2 = makeImage(2, 200_000);

  beforeAll(async () => {
    upstream = await startDistribution();
    mirror = await startRegistry({
      vars: {
        REGISTRIES_JSON: JSON.stringify([{ registry: upstream.url }]),
        PROXY_TAG_TTL_SECONDS: String(TTL_SECONDS),
      },
    });
  });
  afterAll(async () => {
    await mirror?.stop();
    await upstream?.stop();
  });

  it("pulls an image through on a miss, then serves it from the cache", async () => {
    await pushImage(upstream.url, "team/app", "latest", v1);
    await pullImage(mirror, "team/app", "latest", v1);
    const before = upstream.log().split(`blobs/${v1.layer}`).length;
    expect(before).toBeGreaterThan(1);
    await pullImage(mirror, "team/app", v1.digest, v1);
    // The second pull reads R2: the upstream saw no new request for the layer.
    expect(upstream.log().split(`blobs/${v1.layer}`).length).toBe(before);
  });

  it("refuses pushes to the mirrored repository", async () => {
    const started = await get(mirror, "team/app/blobs/uploads/", { method: "POST" });
    expect(started.status).toBe(403);
    expect(((await started.json()) as { errors: { code: string }[] }).errors[0]!.code).toBe("DENIED");
  });

  it("passes the upstream's tag list through", async () => {
    const list = await get(mirror, "team/app/tags/list");
    expect(await list.json()).toEqual({ name: "team/app", tags: ["latest"] });
  });

  it("keeps a moved tag until its TTL, then follows it", async () => {
    // Confirm the tag now, so the TTL starts here.
    await sleep(TTL_SECONDS * 1000 + 500);
    expect((await get(mirror, "team/app/manifests/latest")).headers.get("Docker-Content-Digest")).toBe(v1.digest);
    await pushImage(upstream.url, "team/app", "latest", v2);
    const cached = await get(mirror, "team/app/manifests/latest");
    expect(cached.headers.get("Docker-Content-Digest")).toBe(v1.digest);
    await sleep(TTL_SECONDS * 1000 + 500);
    await pullImage(mirror, "team/app", "latest", v2);
  });

  it("serves from the cache once the upstream is gone, stale tags with a Warning", async () => {
    await upstream.stop();
    await pullImage(mirror, "team/app", v1.digest, v1);
    await sleep(TTL_SECONDS * 1000 + 500);
    const stale = await pullImage(mirror, "team/app", "latest", v2);
    expect(stale.headers.get("Warning")).toMatch(/^110 /);
    const missing = await get(mirror, "team/other/manifests/latest");
    expect(missing.status).toBe(503);
  });
});

describe("htpasswd distribution and a second registry, by prefix", () => {
  let private_: Upstream;
  let second: RegistryServer;
  let mirror: RegistryServer;
  const image = makeImage(3, 2 * 1024 * 1024);
  const hub = makeImage(4, 50_000);

  beforeAll(async () => {
    private_ = await startDistribution({ htpasswd: true });
    second = await startRegistry();
    const upstreams = [
      { registry: private_.url, prefix: "private", username: UPSTREAM_USER.username, password_env: "PRIVATE_PASSWORD" },
      {
        registry: second.url,
        prefix: "hub",
        library_prefix: true,
        username: E2E_CREDENTIALS.username,
        password_env: "HUB_PASSWORD",
      },
    ];
    mirror = await startRegistry({
      vars: {
        REGISTRIES_JSON: JSON.stringify(upstreams),
        PRIVATE_PASSWORD: UPSTREAM_USER.password,
        HUB_PASSWORD: E2E_CREDENTIALS.password,
      },
    });
    await pushImage(private_.url, "team/app", "1.0", image, UPSTREAM_AUTH);
    await pushImage(second.url, "library/busybox", "stable", hub, E2E_AUTH);
  });
  afterAll(async () => {
    await mirror?.stop();
    await second?.stop();
    await private_?.stop();
  });

  it("pulls from distribution with Basic credentials taken from a secret", async () => {
    await pullImage(mirror, "private/team/app", "1.0", image);
  });

  it("fetches a blob upstream once when many clients pull it at the same time", async () => {
    const copy = makeImage(5, 4 * 1024 * 1024);
    await pushImage(private_.url, "team/copy", "1.0", copy, UPSTREAM_AUTH);
    const bodies = await Promise.all(
      Array.from({ length: 6 }, async () => {
        const blob = await get(mirror, `private/team/copy/blobs/${copy.layer}`);
        const bytes = new Uint8Array(await blob.arrayBuffer());
        return blob.status === 200 ? sha256(bytes) : `${blob.status} ${new TextDecoder().decode(bytes.slice(0, 300))}`;
      }),
    );
    expect(bodies).toEqual(Array(6).fill(copy.layer));
    const fetches = private_
      .log()
      .split("\n")
      .filter((l) => l.includes(`"GET /v2/team/copy/blobs/${copy.layer}`) && l.includes(" 200 "));
    expect(fetches.length).toBeLessThanOrEqual(2);
  });

  it("maps single-segment names to library/ and uses the second registry's Bearer tokens", async () => {
    await pullImage(mirror, "hub/busybox", "stable", hub);
    const tokens = second
      .log()
      .split("\n")
      .filter((l) => /GET \/v2\/token/.test(l)).length;
    expect(tokens).toBeGreaterThan(0);
    await pullImage(mirror, "hub/busybox", hub.digest, hub);
    // Tokens are cached: the repeat pull asks for none.
    expect(
      second
        .log()
        .split("\n")
        .filter((l) => /GET \/v2\/token/.test(l)).length,
    ).toBe(tokens);
  });

  it("leaves names outside every prefix to local storage", async () => {
    await pushImage(mirror.url, "local/app", "1.0", image, E2E_AUTH);
    await pullImage(mirror, "local/app", "1.0", image);
  });
});

describe("an upstream that serves corrupt bytes", () => {
  const image = makeImage(6, 1024 * 1024);
  const config = [...image.blobs.keys()].find((d) => d !== image.layer)!;
  let corrupt = true;
  let upstream: Awaited<ReturnType<typeof startScriptedUpstream>>;
  let mirror: RegistryServer;

  function flipped(bytes: Uint8Array): Uint8Array {
    const copy = bytes.slice();
    copy[copy.length >> 1]! ^= 0xff;
    return copy;
  }
  function send(res: ServerResponse, body: Uint8Array | string, headers: Record<string, string>, head: boolean): void {
    res.writeHead(200, headers);
    res.end(head ? undefined : body);
  }

  beforeAll(async () => {
    upstream = await startScriptedUpstream((req, res) => {
      const head = req.method === "HEAD";
      const path = req.url ?? "";
      const manifestHeaders = {
        "Content-Type": "application/vnd.oci.image.manifest.v1+json",
        "Docker-Content-Digest": image.digest,
      };
      if (path === "/v2/shop/app/manifests/lying") {
        return send(
          res,
          image.manifest,
          { ...manifestHeaders, "Docker-Content-Digest": sha256("something else") },
          head,
        );
      }
      if (path === `/v2/shop/app/manifests/${image.digest}`) {
        return send(res, corrupt ? `${image.manifest} ` : image.manifest, manifestHeaders, head);
      }
      if (path === `/v2/shop/app/blobs/${image.layer}`) {
        const bytes = image.blobs.get(image.layer)!;
        return send(res, corrupt ? flipped(bytes) : bytes, { "Content-Length": String(bytes.length) }, head);
      }
      if (path === `/v2/shop/app/blobs/${config}`) {
        // No Content-Length: chunked, the multipart path of the cache.
        res.writeHead(200, { "Content-Type": "application/octet-stream" });
        const bytes = image.blobs.get(config)!;
        return res.end(corrupt ? flipped(bytes) : bytes);
      }
      res.writeHead(404).end();
    });
    mirror = await startRegistry({ vars: { REGISTRIES_JSON: JSON.stringify([{ registry: upstream.url }]) } });
  });
  afterAll(async () => {
    await mirror?.stop();
    await upstream?.stop();
  });

  /** The whole body, or null when the transfer broke off. Each read has its own connection:
   *  the one before may have ended in a reset. */
  function readBlob(digest: string): Promise<{ status: number; bytes: Uint8Array | null }> {
    return new Promise((resolve, reject) => {
      const headers = { Authorization: E2E_AUTH, Connection: "close" };
      const req = httpGet(`${mirror.url}/v2/shop/app/blobs/${digest}`, { headers, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        const status = res.statusCode ?? 0;
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => resolve({ status, bytes: res.complete ? new Uint8Array(Buffer.concat(chunks)) : null }));
        res.on("error", () => resolve({ status, bytes: null }));
        res.on("aborted", () => resolve({ status, bytes: null }));
      });
      req.on("error", reject);
    });
  }
  const asked = (digest: string) => upstream.requests.filter((r) => r === `GET /v2/shop/app/blobs/${digest}`).length;

  it("refuses manifests whose bytes do not match their digest", async () => {
    expect((await get(mirror, "shop/app/manifests/lying")).status).toBe(503);
    expect((await get(mirror, `shop/app/manifests/${image.digest}`)).status).toBe(503);
  });

  it("never completes or caches a corrupt blob, with or without a Content-Length", async () => {
    for (const digest of [image.layer, config]) {
      const first = await readBlob(digest);
      // The client sees an error or a broken transfer, never a whole wrong body.
      const whole =
        first.status === 200 && first.bytes !== null && first.bytes.length === image.blobs.get(digest)!.length;
      expect(whole, `${digest} arrived whole`).toBe(false);
      const before = asked(digest);
      // The aborted fetch cleans up (drops its bytes, frees its claim) after the response.
      await sleep(2000);
      await readBlob(digest);
      expect(asked(digest), "the corrupt copy was not cached, so the upstream is asked again").toBe(before + 1);
    }
  });

  it("caches the right bytes once the upstream serves them", async () => {
    corrupt = false;
    await pullImage(mirror, "shop/app", image.digest, image);
    const before = upstream.requests.length;
    await pullImage(mirror, "shop/app", image.digest, image);
    expect(upstream.requests.length).toBe(before);
  });
});
