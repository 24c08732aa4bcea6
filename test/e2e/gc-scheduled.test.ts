// The collector under the local runtime: the runtime's loopback-only cron trigger
// (scripts/local-runtime/cron-trigger.ts) fires the scheduled handler, which runs a garbage collection step;
// its report is read back over the API. The public port serves no trigger.
import { expect, it } from "vitest";
import { OCI_MANIFEST, singleLayerImage } from "../shared-helpers";
import { api } from "./clients/registry";
import { E2E_AUTH, pushBlob, registrySuite, type RegistryServer } from "./registry-server";

let server: RegistryServer;

registrySuite({ vars: { GC_GRACE_SECONDS: "0" } }, (started) => {
  server = started;
});

it("keeps the cron trigger off the public port: anyone who reaches it gets 404 and runs nothing", async () => {
  for (const path of ["/cdn-cgi/handler/scheduled", "/cdn-cgi/mf/scheduled", "/v2/../cdn-cgi/handler/scheduled"]) {
    const fired = await fetch(`${server.url}${path}?cron=${encodeURIComponent("*/30 * * * *")}`);
    expect(fired.status, path).toBe(404);
  }
  // The trigger listens on loopback only, and fires only at the path npm start printed: a web
  // page can send a GET to a loopback port but cannot know the token.
  const trigger = new URL(server.cronUrl!);
  expect(trigger.hostname).toBe("127.0.0.1");
  for (const path of ["/scheduled", "/scheduled/", `/scheduled/${"0".repeat(32)}`]) {
    const guessed = await fetch(`${trigger.origin}${path}?cron=${encodeURIComponent("*/30 * * * *")}`);
    expect(guessed.status, path).toBe(404);
  }
  const listed = (await (await api(server, "/v2/_gc/reports?n=1")).json()) as { reports: unknown[] };
  expect(listed.reports).toEqual([]);
});

it("frees a deleted image's layers when the cron fires", async () => {
  const image = singleLayerImage(
    { architecture: "amd64", os: "linux" },
    new Uint8Array(5000).map((_, i) => (i * 7) % 251),
  );
  const pusher = { url: server.url, auth: E2E_AUTH };
  await pushBlob(pusher, "e2e/gc", image.config);
  await pushBlob(pusher, "e2e/gc", image.layer);
  const put = await api(server, "/v2/e2e/gc/manifests/v1", {
    method: "PUT",
    body: image.body,
    headers: { "Content-Type": OCI_MANIFEST },
  });
  expect(put.status).toBe(201);
  expect((await api(server, `/v2/e2e/gc/manifests/${image.digest}`, { method: "DELETE" })).status).toBe(202);
  await new Promise((r) => setTimeout(r, 1100));

  const fired = await fetch(`${server.cronUrl}?cron=${encodeURIComponent("*/30 * * * *")}`);
  expect(fired.status, await fired.clone().text()).toBe(200);
  let report:
    | { trigger: string; cycleFinished: boolean; cycleTotals: { blobs: number; bytesFreed: number } }
    | undefined;
  for (let i = 0; i < 40 && !report?.cycleFinished; i++) {
    await new Promise((r) => setTimeout(r, 250));
    const listed = (await (await api(server, "/v2/_gc/reports?n=1")).json()) as { reports: (typeof report)[] };
    report = listed.reports[0];
  }
  expect(report).toMatchObject({
    trigger: "cron",
    cycleFinished: true,
    cycleTotals: { blobs: 2, bytesFreed: image.config.length + image.layer.length },
  });
  expect((await api(server, `/v2/e2e/gc/blobs/${image.layerDigest}`, { method: "HEAD" })).status).toBe(404);
});
