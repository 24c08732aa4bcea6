// An upload survives a registry restart: session state lives in R2 and KV, never in memory.
// The registry is stopped between two chunks and started again on the same persisted state.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";
import { seededBytes, sha256 } from "../shared-helpers";
import { E2E_AUTH, startRegistry, type RegistryServer } from "./registry-server";

const stateDir = mkdtempSync(join(tmpdir(), "registry-restart-"));
let server: RegistryServer | null = null;

afterAll(async () => {
  await server?.stop();
  rmSync(stateDir, { recursive: true, force: true });
});

async function patch(url: string, body: Buffer, start: number): Promise<Response> {
  return fetch(url, {
    method: "PATCH",
    body,
    headers: {
      Authorization: E2E_AUTH,
      "Content-Range": `${start}-${start + body.length - 1}`,
      "Content-Type": "application/octet-stream",
    },
  });
}

it("continues an upload after the registry restarts mid-upload", async () => {
  const blob = Buffer.from(seededBytes(12 * 1024 * 1024 + 321, 12));
  const digest = sha256(blob);
  const cut = 7 * 1024 * 1024 + 5;

  server = await startRegistry({ stateDir });
  const port = server.port;
  const opened = await fetch(`${server.url}/v2/restart/blob/blobs/uploads/`, {
    method: "POST",
    headers: { Authorization: E2E_AUTH },
  });
  expect(opened.status).toBe(202);
  const first = await patch(new URL(opened.headers.get("Location")!, server.url).toString(), blob.subarray(0, cut), 0);
  expect(first.status).toBe(202);
  const location = first.headers.get("Location")!;
  await server.stop();

  server = await startRegistry({ stateDir, port });
  const status = await fetch(new URL(location, server.url), { headers: { Authorization: E2E_AUTH } });
  expect(status.status).toBe(204);
  expect(status.headers.get("Range")).toBe(`0-${cut - 1}`);
  const rest = await patch(new URL(status.headers.get("Location")!, server.url).toString(), blob.subarray(cut), cut);
  expect(rest.status).toBe(202);
  const close = new URL(rest.headers.get("Location")!, server.url);
  close.searchParams.set("digest", digest);
  const put = await fetch(close, { method: "PUT", headers: { Authorization: E2E_AUTH } });
  expect(put.status).toBe(201);
  const pulled = Buffer.from(
    await (
      await fetch(`${server.url}/v2/restart/blob/blobs/${digest}`, { headers: { Authorization: E2E_AUTH } })
    ).arrayBuffer(),
  );
  expect(pulled.length).toBe(blob.length);
  expect(pulled.equals(blob)).toBe(true);
});
