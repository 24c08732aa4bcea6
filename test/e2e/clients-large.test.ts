// A 1 GiB layer pushed and pulled with skopeo against wrangler dev. skopeo streams the whole
// layer in one chunked PATCH and then closes with PUT ?digest=; PLATFORM.md records that
// this exact sequence broke the design we replace, so it is tested with the real client.
import { rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, expect, it } from "vitest";
import { needClients } from "./clients/availability";
import { buildBase, buildDerived } from "./clients/images";
import { api, getManifest, logTail, startClientRegistry, workDir } from "./clients/registry";
import { pullToLayout, pushImage } from "./clients/skopeo";
import { slowestCommands } from "./clients/run";
import { ContainersTools } from "./clients/tools";
import { type RegistryServer } from "./registry-server";

const GiB = 1024 * 1024 * 1024;

let server: RegistryServer;
let work: string;

beforeAll(async () => {
  server = await startClientRegistry();
  work = workDir("large");
});

afterEach(async (context) => {
  if (context.task.result?.state !== "fail") return;
  // wrangler logs a request after the client has its answer; wait for the last lines.
  await new Promise((r) => setTimeout(r, 1500));
  console.error(`registry log tail:\n${logTail(server)}`);
});

afterAll(async () => {
  console.log(`slowest client commands:\n${slowestCommands()}`);
  await server?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

it("pushes a 1 GiB layer with skopeo and pulls it back with the same digest", async (context) => {
  await needClients(context, "skopeo", "umoci", "busybox");
  const tools = new ContainersTools(join(work, "containers"));
  const base = await buildBase(join(work, "layout"), work);
  const image = await buildDerived(base, "huge", work, { files: { "payload/huge.bin": { size: GiB, seed: 1024 } } });
  rmSync(image.bundle, { recursive: true, force: true });
  const layer = image.manifest.layers.at(-1)!;
  expect(layer.size).toBeGreaterThan(GiB);

  await pushImage(tools, image.ref, `docker://${server.host}/e2e/huge:v1`);
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
