// Push, cross-repository mounts (distribution-spec "Mounting a blob from another
// repository"): 201 with the blob's Location, the 202 fallback that opens a usable session,
// and mounts without `from`, which this registry answers from any repository the caller may
// pull.
import { expectError, expectHeader, expectStatus, fail } from "./assert";
import { digestOf, pushBlob, seededBytes } from "./content";
import type { RunContext } from "./context";
import { expectBlob, locationOf, withDigest } from "./push-blobs";

export async function runMounts(ctx: RunContext): Promise<void> {
  const { client, group } = ctx;
  const source = ctx.repo("mount-source");
  const bytes = seededBytes(5003, 101);
  const digest = digestOf(bytes);
  const ready = await group.check(
    "setup: push a blob to the mount source",
    async () => void (await pushBlob(client, source, bytes)),
  );
  const need = () => (ready ? undefined : fail("setup failed"));
  await group.check("mount with from answers 201 with the blob's Location and Docker-Content-Digest", async () => {
    need();
    const target = ctx.repo("mount-target");
    const reply = await client.request("POST", `/v2/${target}/blobs/uploads/?mount=${digest}&from=${source}`);
    expectStatus(reply, 201);
    const location = client.resolve(locationOf(reply));
    if (location.pathname !== `/v2/${target}/blobs/${digest}`) fail(`Location is ${location.pathname}`);
    expectHeader(reply, "Docker-Content-Digest", digest);
    await expectBlob(client, target, bytes);
  });
  await group.check("mount from a repository that lacks the blob falls back to 202 with a usable session", async () => {
    need();
    const target = ctx.repo("mount-fallback");
    const reply = await client.request(
      "POST",
      `/v2/${target}/blobs/uploads/?mount=${digest}&from=${ctx.repo("mount-empty")}`,
    );
    expectStatus(reply, 202);
    expectError(await client.request("GET", `/v2/${target}/blobs/${digest}`), 404, "BLOB_UNKNOWN");
    const put = await client.request("PUT", withDigest(client, locationOf(reply), digest), {
      headers: { "Content-Type": "application/octet-stream" },
      body: bytes,
    });
    expectStatus(put, 201);
    await expectBlob(client, target, bytes);
  });
  await group.check("mount of an unknown digest answers 202 with a session Location", async () => {
    const target = ctx.repo("mount-unknown");
    const unknown = digestOf(seededBytes(64, 102));
    const reply = await client.request("POST", `/v2/${target}/blobs/uploads/?mount=${unknown}&from=${source}`);
    expectStatus(reply, 202);
    const location = client.resolve(locationOf(reply));
    if (!location.pathname.startsWith(`/v2/${target}/blobs/uploads/`)) fail(`session Location is ${location.pathname}`);
  });
  await group.check("mount without from answers 201 when the blob is in a repository the caller may pull", async () => {
    need();
    const target = ctx.repo("mount-auto");
    // With tokens, the caller may pull only what its token names, so it asks for the source.
    const reply = await client.request("POST", `/v2/${target}/blobs/uploads/?mount=${digest}`, {
      extraScopes: [`repository:${source}:pull`],
    });
    expectStatus(reply, 201);
    await expectBlob(client, target, bytes);
  });
  await group.check("mount without from of an unknown digest answers 202", async () => {
    const reply = await client.request(
      "POST",
      `/v2/${ctx.repo("mount-auto")}/blobs/uploads/?mount=${digestOf(seededBytes(64, 103))}`,
    );
    expectStatus(reply, 202);
    locationOf(reply);
  });
  await group.check("mount with a malformed digest answers 400 DIGEST_INVALID", async () => {
    expectError(
      await client.request("POST", `/v2/${ctx.repo("mount-target")}/blobs/uploads/?mount=sha256:nope&from=${source}`),
      400,
      "DIGEST_INVALID",
    );
  });
}
