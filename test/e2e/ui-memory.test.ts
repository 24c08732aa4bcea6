// Every web UI page against the worst content a pusher may legally store (issue 20, item 2),
// read through Miniflare's inspector as isolate-memory.test.ts does: manifests of the largest
// size the registry accepts, each repeating one layer as often as fits, a config of the same
// size, an index of 16 such images, an index repeating one entry as often as fits, and a
// repository page of 50 tags of distinct such manifests. Each page view, served anonymously,
// must keep the isolate's peak at or under 96 MiB of production's 128 MB and answer 200.
// Each view runs on a fresh runtime over the same state: the local runtime has no memory
// limit, so V8 leaves earlier work's garbage (the pushes' own parsing) uncollected, and the
// inspector offers no way to collect it first.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_JSON_ITEMS, measureJsonShape } from "../../src/oci/strict-json";
import { basic, OCI_INDEX, OCI_MANIFEST, sha256 } from "../shared-helpers";
import { sampleIsolateHeap } from "./isolate-heap";
import { freePort, pushBlob, startRegistry, type Pusher, type RegistryServer } from "./registry-server";
import { pushManifest } from "./ui-content";

const MiB = 1024 * 1024;
const LIMIT = 96 * MiB;
const TARGET = "core:user:registry";
/** The registry's manifest limit (config.ts, maxManifestBytes): the largest legal document. */
const MAX_DOCUMENT = 4 * MiB;
const REPO = "mem/ui";
const TAGS = 50;
const CHILDREN = 16;

const itemsIn = (json: string) => measureJsonShape(new TextEncoder().encode(json)).items;

/** `head` + `count` copies of `item` (comma separated) + `tail`, with count as large as the
 *  registry accepts: within MAX_DOCUMENT bytes and MAX_JSON_ITEMS values (oci/strict-json.ts;
 *  the UI does not parse a stored document past that either). */
function fill(head: string, item: string, tail: string): string {
  const byBytes = Math.floor((MAX_DOCUMENT - head.length - tail.length + 1) / (item.length + 1));
  const byItems = Math.floor((MAX_JSON_ITEMS - itemsIn(`${head}${tail}`)) / (itemsIn(`[${item}]`) - 1));
  const count = Math.min(byBytes, byItems);
  const text = head + Array(count).fill(item).join(",") + tail;
  expect(Buffer.byteLength(text)).toBeLessThanOrEqual(MAX_DOCUMENT);
  return text;
}

const stateDir = mkdtempSync(join(tmpdir(), "registry-ui-memory-"));
const VARS = { USERNAME: "mem", PASSWORD: "mem-password", ANONYMOUS_PULL: "mem/*" };
let server: RegistryServer;
let pusher: Pusher;
let image0 = "";
let index16 = "";
let wideIndex = "";

async function putManifest(reference: string, body: string, mediaType: string): Promise<string> {
  const response = await fetch(`${server.url}/v2/${REPO}/manifests/${reference}`, {
    method: "PUT",
    body,
    headers: { Authorization: pusher.auth, "Content-Type": mediaType },
  });
  expect(response.status, await response.text()).toBe(201);
  return sha256(body);
}

beforeAll(async () => {
  server = await startRegistry({ protocol: "http", vars: VARS, stateDir });
  pusher = { url: server.url, auth: basic("mem", "mem-password") };
  const layer = await pushBlob(pusher, REPO, new TextEncoder().encode("one layer, repeated"));
  // A config as large as a manifest may be, all history rows.
  const config = await pushBlob(
    pusher,
    REPO,
    new TextEncoder().encode(
      fill('{"architecture":"amd64","os":"linux","history":[', '{"created_by":"RUN true"}', "]}"),
    ),
  );
  const layerJson = JSON.stringify({ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", ...layer });
  const configJson = JSON.stringify({ mediaType: "application/vnd.oci.image.config.v1+json", ...config });
  const images: { digest: string; size: number }[] = [];
  for (let i = 0; i < TAGS - 2; i++) {
    const body = fill(
      `{"schemaVersion":2,"mediaType":"${OCI_MANIFEST}","annotations":{"n":"${i}"},"config":${configJson},"layers":[`,
      layerJson,
      "]}",
    );
    images.push({ digest: await putManifest(`t${String(i).padStart(2, "0")}`, body, OCI_MANIFEST), size: body.length });
  }
  image0 = images[0]!.digest;
  const entries = images.slice(0, CHILDREN).map((m, i) => ({
    mediaType: OCI_MANIFEST,
    ...m,
    platform: { os: "linux", architecture: `arch${i}` },
  }));
  index16 = (
    await pushManifest(
      pusher,
      REPO,
      "index16",
      { schemaVersion: 2, mediaType: OCI_INDEX, manifests: entries },
      OCI_INDEX,
    )
  ).digest;
  const entryJson = JSON.stringify({ ...entries[0], platform: { os: "linux", architecture: "amd64" } });
  wideIndex = await putManifest(
    "wide",
    fill(`{"schemaVersion":2,"mediaType":"${OCI_INDEX}","manifests":[`, entryJson, "]}"),
    OCI_INDEX,
  );
}, 10 * 60_000);

afterAll(async () => {
  await server?.stop();
  rmSync(stateDir, { recursive: true, force: true });
});

/** A fresh runtime over the content pushed above, with its inspector open. */
async function restart(): Promise<void> {
  await server.stop();
  server = await startRegistry({ protocol: "http", vars: VARS, stateDir, inspectorPort: await freePort() });
}

/** Signs in through the form, as a browser does; the session cookie. */
async function signIn(): Promise<string> {
  const form = await fetch(`${server.url}/-/login`);
  const csrf = /name="_csrf" value="([^"]+)"/.exec(await form.text())![1]!;
  const cookies = (list: Response) => list.headers.getSetCookie().map((line) => line.split(";")[0]!);
  const response = await fetch(`${server.url}/-/login`, {
    method: "POST",
    redirect: "manual",
    body: new URLSearchParams({ _csrf: csrf, username: "mem", password: "mem-password", next: "/" }),
    headers: { Origin: server.url, Cookie: cookies(form).join("; ") },
  });
  expect(response.status).toBe(303);
  return cookies(response).join("; ");
}

/** One page view; its status, its size, and the isolate's peak while it ran. */
async function view(path: string, cookie = ""): Promise<{ status: number; bytes: number; peak: number }> {
  const sampler = await sampleIsolateHeap(server.inspectorPort!, TARGET, 20);
  let status = 0;
  let bytes = 0;
  let peak = 0;
  try {
    const response = await fetch(server.url + path, { headers: cookie ? { Cookie: cookie } : {} });
    status = response.status;
    bytes = (await response.arrayBuffer()).byteLength;
  } finally {
    peak = await sampler.stop();
  }
  console.log(
    `${path}: ${status}, ${(bytes / 1024).toFixed(0)} KiB of HTML, isolate peak ${(peak / MiB).toFixed(1)} MiB`,
  );
  return { status, bytes, peak };
}

describe("web UI pages under the worst legal content", () => {
  const pages: [string, () => string][] = [
    ["the repository page of 50 tags of 4 MiB manifests", () => `/r/${REPO}`],
    ["an index page of 16 images of 4 MiB each", () => `/r/${REPO}/-/manifest/${index16}`],
    ["an image page of a 4 MiB manifest and a 4 MiB config", () => `/r/${REPO}/-/manifest/${image0}`],
    ["an index page of a 4 MiB index", () => `/r/${REPO}/-/manifest/${wideIndex}`],
    ["the repositories page", () => "/"],
  ];
  it("the storage page, signed in, stays at or under 96 MiB", async () => {
    await restart();
    const result = await view("/-/storage", await signIn());
    expect(result.status).toBe(200);
    expect(result.peak).toBeGreaterThan(0);
    expect(result.peak).toBeLessThanOrEqual(LIMIT);
  });
  for (const [name, path] of pages) {
    it(`${name} stays at or under 96 MiB`, async () => {
      await restart();
      const result = await view(path());
      expect(result.status).toBe(200);
      expect(result.peak).toBeGreaterThan(0);
      expect(result.peak).toBeLessThanOrEqual(LIMIT);
    });
  }
});
