// Storage operations per request for every endpoint not covered by limits-manifests.test.ts,
// each with its worst legal input (issue 14). "Operations" are what the meter counts
// (src/storage/meter.ts): R2 class A + class B + free R2 calls (deletes, aborts) + KV reads
// and writes, i.e. every call to a binding, each one subrequest. Each must stay under the
// Free plan's 1,000 subrequests per invocation. The measured table is printed at the end
// and copied into docs/benchmarks.md.
import { env } from "cloudflare:workers";
import { afterAll, describe, expect, it } from "vitest";
import { patternIdentity } from "../src/auth/identity";
import { listPullableRepositories } from "../src/registry/catalog";
import { subrequests, type Usage } from "../src/storage/meter";
import { openStorage, type WorkerBindings } from "../src/storage/storage";
import { parseDigest } from "../src/oci/digest";
import { putTag } from "../src/storage/manifests";
import {
  meteredRequest,
  OCI_MANIFEST,
  pushBlob,
  pushImage,
  pushManifest,
  READONLY_AUTH,
  request,
  seededBytes,
  sha256,
  startUpload,
  storedKeys,
} from "./helpers";

const FREE_SUBREQUESTS = 1000;
const MiB = 1024 * 1024;
const bucket = (env as unknown as WorkerBindings).REGISTRY;
const rows: { endpoint: string; input: string; usage: Usage }[] = [];

/** Sends the request through the meter, records its row, asserts the Free plan's bound. */
async function measure(
  endpoint: string,
  input: string,
  path: string,
  init: RequestInit & { auth?: string | null } = {},
) {
  const { response, usage } = await meteredRequest(path, init);
  await response.clone().arrayBuffer(); // a streamed body's reads happen before the count is used
  rows.push({ endpoint, input, usage });
  expect(usage.subrequests, `${endpoint} (${input})`).toBeLessThan(FREE_SUBREQUESTS);
  return response;
}

afterAll(() => {
  const lines = [
    "| Endpoint | Worst legal input | R2 A | R2 B | R2 free | KV r | KV w | Total |",
    "|---|---|---|---|---|---|---|---|",
  ];
  for (const { endpoint, input, usage: u } of rows) {
    lines.push(
      `| ${endpoint} | ${input} | ${u.r2ClassA} | ${u.r2ClassB} | ${u.r2Free} | ${u.kvReads} | ${u.kvWrites} | ${subrequests(u)} |`,
    );
  }
  console.log(lines.join("\n"));
});

async function putMany(count: number, put: (i: number) => Promise<unknown>) {
  for (let i = 0; i < count; i += 100)
    await Promise.all(Array.from({ length: Math.min(100, count - i) }, (_, j) => put(i + j)));
}

describe("reads", () => {
  it("GET /v2/", async () => {
    expect((await measure("GET /v2/", "authenticated", "/v2/")).status).toBe(200);
  });

  it("catalog: n at its max over 2,000 repositories, and a caller who sees few of them", async () => {
    await putMany(2000, (i) => bucket.put(storedKeys.catalogEntry(`cat-many/r${String(i).padStart(4, "0")}`), null));
    const full = await measure("GET /v2/_catalog", "n=1000 (max), 2,000+ repositories", "/v2/_catalog?n=1000");
    expect(((await full.json()) as { repositories: string[] }).repositories).toHaveLength(1000);
    const few = await measure("GET /v2/_catalog", "n=1000, reader who may pull none of 2,000+", "/v2/_catalog?n=1000", {
      auth: READONLY_AUTH,
    });
    expect(few.status).toBe(200);
  });

  it("catalog scan: a caller who sees none of many stops at 50 listing calls, whatever the page size", async () => {
    // 2,000 names scanned 10 at a time stands in for 50,000+ scanned 1,000 at a time: the
    // bound is the number of listing calls (maxScanPages = 50), not the names they return.
    const store = openStorage(env as unknown as WorkerBindings);
    const identity = patternIdentity("user:nobody", [{ pattern: "nothing/*", actions: new Set(["pull"] as const) }], {
      catalog: true,
    });
    const page = await listPullableRepositories(store, identity, {
      limit: 1000,
      last: null,
      secret: "s",
      scanPageSize: 10,
    });
    expect(page.names).toEqual([]);
    expect(page.next).not.toBeNull();
    rows.push({
      endpoint: "GET /v2/_catalog (core)",
      input: "sees none of 50 × scan page",
      usage: store.meter.usage(),
    });
    expect(store.meter.usage()).toMatchObject({ r2ClassA: 50, r2ClassB: 0 });
  });

  it("tags list: n at its max over 3,000 tags", async () => {
    const image = await pushImage("lim-ep/tags", "base", 1);
    const digest = parseDigest(image.digest);
    const store = openStorage(env as unknown as WorkerBindings);
    await putMany(3000, (i) => putTag(store, "lim-ep/tags", `t${String(i).padStart(4, "0")}`, digest));
    const list = await measure("GET tags/list", "n=1000 (max) of 3,001 tags", "/v2/lim-ep/tags/tags/list?n=1000");
    expect(((await list.json()) as { tags: string[] }).tags).toHaveLength(1000);
  });

  it("referrers: 400 small referrers, with and without an artifactType filter that matches none", async () => {
    const repo = "lim-ep/ref";
    const image = await pushImage(repo, "subject", 2);
    const subject = {
      mediaType: OCI_MANIFEST,
      digest: image.digest,
      size: new TextEncoder().encode(image.body).length,
    };
    const config = {
      mediaType: "application/vnd.oci.empty.v1+json",
      digest: await pushBlob(repo, new TextEncoder().encode("{}")),
      size: 2,
    };
    await putMany(400, async (i) => {
      const body = JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        artifactType: "application/x.a",
        config,
        layers: [],
        subject,
        annotations: { i: String(i) },
      });
      const put = await pushManifest(repo, sha256(body), body);
      if (put.status !== 201) throw new Error(`referrer ${i}: ${put.status}`);
    });
    const all = await measure(
      "GET referrers",
      "400 referrers, no filter, n at its max",
      `/v2/${repo}/referrers/${image.digest}`,
    );
    expect(((await all.json()) as { manifests: unknown[] }).manifests.length).toBeGreaterThan(0);
    const none = await measure(
      "GET referrers",
      "400 referrers, artifactType matching none",
      `/v2/${repo}/referrers/${image.digest}?artifactType=application/x.none`,
    );
    expect(((await none.json()) as { manifests: unknown[] }).manifests).toEqual([]);
  });

  it("blob GET, HEAD and Range GET of a local blob", async () => {
    const bytes = seededBytes(6 * MiB, 3);
    const digest = await pushBlob("lim-ep/blob", bytes);
    expect((await measure("GET blob", "6 MiB local blob", `/v2/lim-ep/blob/blobs/${digest}`)).status).toBe(200);
    expect(
      (await measure("HEAD blob", "local blob", `/v2/lim-ep/blob/blobs/${digest}`, { method: "HEAD" })).status,
    ).toBe(200);
    const range = await measure("GET blob (Range)", "bytes=5000000-5099999", `/v2/lim-ep/blob/blobs/${digest}`, {
      headers: { Range: "bytes=5000000-5099999" },
    });
    expect(range.status).toBe(206);
  });

  it("manifest GET/HEAD by tag and by digest, first read and warm", async () => {
    const image = await pushImage("lim-ep/man", "v1", 4);
    for (const round of ["first read after push", "repeated (warm isolate)"]) {
      for (const method of ["GET", "HEAD"]) {
        for (const [by, ref] of [
          ["tag", "v1"],
          ["digest", image.digest],
        ]) {
          const response = await measure(`${method} manifest by ${by}`, round, `/v2/lim-ep/man/manifests/${ref}`, {
            method,
          });
          expect(response.status).toBe(200);
        }
      }
    }
  });
});

const octet = (length: number, range?: [number, number]) => {
  const headers: Record<string, string> = {
    "Content-Type": "application/octet-stream",
    "Content-Length": String(length),
  };
  if (range) headers["Content-Range"] = `${range[0]}-${range[1]}`;
  return headers;
};
const withDigest = (location: string, digest: string) =>
  `${location}${location.includes("?") ? "&" : "?"}digest=${digest}`;

describe("writes", () => {
  it("upload POST: monolithic with digest, mount with and without from", async () => {
    const bytes = seededBytes(6 * MiB, 5);
    const digest = sha256(bytes);
    const post = await measure(
      "POST upload",
      "monolithic ?digest=, 6 MiB",
      `/v2/lim-ep/up/blobs/uploads/?digest=${digest}`,
      { method: "POST", body: bytes, headers: octet(bytes.length) },
    );
    expect(post.status).toBe(201);
    const from = await measure(
      "POST upload (mount)",
      "?mount=&from=",
      `/v2/lim-ep/up2/blobs/uploads/?mount=${digest}&from=lim-ep/up`,
      { method: "POST" },
    );
    expect(from.status).toBe(201);
    // Without from: the blob's reverse links are listed (one call for up to 1,000 repositories).
    await putMany(900, (i) => bucket.put(storedKeys.blobRepo(digest, `lim-ep/x${String(i).padStart(3, "0")}`), null));
    const any = await measure(
      "POST upload (mount)",
      "?mount= without from, 900 stale reverse links",
      `/v2/lim-ep/up3/blobs/uploads/?mount=${digest}`,
      { method: "POST" },
    );
    expect([201, 202]).toContain(any.status);
  });

  it("upload PATCH with a stored tail, and the closing PUT with the largest stored tail", async () => {
    const part = 5 * MiB; // UPLOAD_PART_SIZE in the test bindings
    const bytes = seededBytes(2 * part + part - 1, 6);
    const location = await startUpload("lim-ep/chunk");
    const first = bytes.subarray(0, part - 1); // stays stored as the session's tail
    const p1 = await measure("PATCH upload", "first chunk, 5 MiB − 1 (stored as tail)", location, {
      method: "PATCH",
      body: first,
      headers: octet(first.length, [0, first.length - 1]),
    });
    expect(p1.status).toBe(202);
    const second = bytes.subarray(part - 1); // joins the tail: 2 parts out, a tail of part − 1 stays
    const p2 = await measure("PATCH upload", "10 MiB chunk after a stored tail", p1.headers.get("Location")!, {
      method: "PATCH",
      body: second,
      headers: octet(second.length, [part - 1, bytes.length - 1]),
    });
    expect(p2.status).toBe(202);
    const put = await measure(
      "PUT upload (close)",
      "stored tail 5 MiB − 1, 2 parts stored",
      withDigest(p2.headers.get("Location")!, sha256(bytes)),
      { method: "PUT", headers: octet(0) },
    );
    expect(put.status, await put.clone().text()).toBe(201);
  });

  it("DELETE of a blob and of a tag", async () => {
    const digest = await pushBlob("lim-ep/del", seededBytes(1000, 7));
    expect(
      (await measure("DELETE blob", "linked blob", `/v2/lim-ep/del/blobs/${digest}`, { method: "DELETE" })).status,
    ).toBe(202);
    await pushImage("lim-ep/del", "gone", 8);
    expect(
      (await measure("DELETE manifest by tag", "tag", "/v2/lim-ep/del/manifests/gone", { method: "DELETE" })).status,
    ).toBe(202);
  });
});

describe("collector", () => {
  it("POST /v2/_gc runs one step within GC_MAX_OPERATIONS, and the reports page", async () => {
    for (let i = 0; i < 6; i++) {
      const image = await pushImage(`lim-ep/gc${i}`, "v1", 20 + i);
      await request(`/v2/lim-ep/gc${i}/manifests/${image.digest}`, { method: "DELETE" });
    }
    const step = await measure("POST /v2/_gc", "one collector step (GC_MAX_OPERATIONS=800 default)", "/v2/_gc", {
      method: "POST",
    });
    expect(step.status, await step.clone().text()).toBe(200);
    const report = (await step.json()) as { operations: number };
    expect(report.operations).toBeLessThanOrEqual(800);
    expect((await measure("GET /v2/_gc/reports", "n=200 (max)", "/v2/_gc/reports?n=200")).status).toBe(200);
  });
});
