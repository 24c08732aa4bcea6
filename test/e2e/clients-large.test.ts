// A 1 GiB layer against `npm start`'s runtime: pushed by skopeo itself (the whole layer in one
// streamed PATCH, then the closing PUT at once: under wrangler dev's proxy that PUT got
// 503 "Your worker restarted mid-request" 3 times in 3, and skopeo does not retry a PUT;
// docs/local-runtime.md), pushed in 64 MiB chunks by the project's push client (as users above
// the edge's body limit must), and pulled back with skopeo. Nothing is retried.
import { rmSync } from "node:fs";
import { join } from "node:path";
import { expect, it } from "vitest";
import { needClients } from "./clients/availability";
import { buildBase, buildDerived } from "./clients/images";
import { api, getManifest, clientSuite } from "./clients/registry";
import { pullToLayout, pushImage } from "./clients/skopeo";
import { runCli } from "./push-client-fixtures";
import { E2E_CREDENTIALS } from "./registry-server";
import { ContainersTools } from "./clients/tools";
import type { RegistryServer } from "./registry-server";

const GiB = 1024 * 1024 * 1024;

let server: RegistryServer;
let work: string;

clientSuite("large", (s, w) => {
  server = s;
  work = w;
});

it("pushes a 1 GiB layer with skopeo and in chunks, and pulls it back with skopeo, digests equal", async (context) => {
  await needClients(context, "skopeo", "umoci", "busybox");
  const tools = new ContainersTools(join(work, "containers"));
  const base = await buildBase(join(work, "layout"), work);
  const image = await buildDerived(base, "huge", work, { files: { "payload/huge.bin": { size: GiB, seed: 1024 } } });
  rmSync(image.bundle, { recursive: true, force: true });
  const layer = image.manifest.layers.at(-1)!;
  expect(layer.size).toBeGreaterThan(GiB);

  await pushImage(tools, image.ref, `docker://${server.host}/e2e/huge-skopeo:v1`);
  expect((await getManifest(server, "e2e/huge-skopeo", "v1")).digest).toBe(image.manifestDigest);
  const copied = await api(server, `/v2/e2e/huge-skopeo/blobs/${layer.digest}`, { method: "HEAD" });
  expect(copied.status).toBe(200);
  expect(copied.headers.get("Content-Length")).toBe(String(layer.size));

  const pushed = await runCli(["push", image.ref, `${server.host}/e2e/huge:v1`, "--chunk-size", "64MiB"], {
    R2_REGISTRY_STATE: join(work, "push-state.json"),
    R2_REGISTRY_USERNAME: E2E_CREDENTIALS.username,
    R2_REGISTRY_PASSWORD: E2E_CREDENTIALS.password,
  });
  expect(pushed.code, pushed.stderr).toBe(0);
  expect((await getManifest(server, "e2e/huge", "v1")).digest).toBe(image.manifestDigest);
  const head = await api(server, `/v2/e2e/huge/blobs/${layer.digest}`, { method: "HEAD" });
  expect(head.status).toBe(200);
  expect(head.headers.get("Content-Length")).toBe(String(layer.size));

  // Drop the source layout so the pull cannot find the layer locally; pullToLayout re-hashes it.
  rmSync(image.layout, { recursive: true, force: true });
  const pulled = await pullToLayout(tools, `docker://${server.host}/e2e/huge:v1`, join(work, "pulled"));
  expect(pulled.manifestDigest).toBe(image.manifestDigest);
  expect(pulled.layerDigests).toEqual(image.manifest.layers.map((l) => l.digest));
});
