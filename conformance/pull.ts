// Pull (distribution-spec "Pull"): the API check, manifests and blobs by tag and digest with
// GET and HEAD, Range requests, and the 404s for content that is not there.
import { expectBytes, expectEqual, expectError, expectHeader, expectStatus, fail } from "./assert";
import { MEDIA, digestOf, pushImage, type PushedImage } from "./content";
import type { RunContext } from "./context";

export const ACCEPT_MANIFESTS = [MEDIA.ociManifest, MEDIA.ociIndex, MEDIA.dockerManifest, MEDIA.dockerList].join(", ");
const ZERO_DIGEST = `sha256:${"0".repeat(64)}`;

export async function runPull(ctx: RunContext): Promise<void> {
  const { client, group } = ctx;
  await group.check("GET /v2/ answers 200 with Docker-Distribution-API-Version: registry/2.0", async () => {
    const reply = await client.request("GET", "/v2/");
    expectStatus(reply, 200);
    expectHeader(reply, "Docker-Distribution-API-Version", "registry/2.0");
  });
  if (ctx.authenticated) {
    await group.check(
      "GET /v2/ without credentials answers 401 UNAUTHORIZED with a WWW-Authenticate challenge",
      async () => {
        const reply = await client.anonymous("GET", "/v2/");
        expectError(reply, 401, "UNAUTHORIZED");
        expectHeader(reply, "WWW-Authenticate", /^(Basic|Bearer) /i);
      },
    );
  }
  const repo = ctx.repo("pull");
  let image: PushedImage | undefined;
  await group.check("setup: push an image to pull", async () => {
    image = await pushImage(client, repo, 11, "pull-tag");
  });
  const pushed = (): PushedImage => image ?? fail("setup failed; nothing to pull");
  await checkManifestPulls(ctx, repo, pushed);
  await checkBlobPulls(ctx, repo, pushed);
  await checkRanges(ctx, repo, pushed);
  await checkMissing(ctx, repo, pushed);
}

async function checkManifestPulls(ctx: RunContext, repo: string, pushed: () => PushedImage): Promise<void> {
  const { client, group } = ctx;
  for (const by of ["tag", "digest"] as const) {
    await group.check(
      `GET manifest by ${by}: 200, the exact bytes, Content-Type and Docker-Content-Digest`,
      async () => {
        const image = pushed();
        const reply = await client.request("GET", `/v2/${repo}/manifests/${by === "tag" ? "pull-tag" : image.digest}`, {
          headers: { Accept: ACCEPT_MANIFESTS },
        });
        expectStatus(reply, 200);
        expectBytes(reply, image.manifest);
        expectHeader(reply, "Content-Type", MEDIA.ociManifest);
        expectHeader(reply, "Docker-Content-Digest", image.digest);
      },
    );
    await group.check(`HEAD manifest by ${by}: 200, Content-Length and Docker-Content-Digest, no body`, async () => {
      const image = pushed();
      const reply = await client.request("HEAD", `/v2/${repo}/manifests/${by === "tag" ? "pull-tag" : image.digest}`, {
        headers: { Accept: ACCEPT_MANIFESTS },
      });
      expectStatus(reply, 200);
      expectHeader(reply, "Content-Length", String(image.manifest.length));
      expectHeader(reply, "Docker-Content-Digest", image.digest);
      expectEqual(reply.body.length, 0, "HEAD body length");
    });
  }
}

async function checkBlobPulls(ctx: RunContext, repo: string, pushed: () => PushedImage): Promise<void> {
  const { client, group } = ctx;
  await group.check("GET blob: 200, the exact bytes, Content-Length and Docker-Content-Digest", async () => {
    const { layer } = pushed();
    const reply = await client.request("GET", `/v2/${repo}/blobs/${digestOf(layer)}`);
    expectStatus(reply, 200);
    expectBytes(reply, layer);
    expectHeader(reply, "Content-Length", String(layer.length));
    expectHeader(reply, "Docker-Content-Digest", digestOf(layer));
  });
  await group.check("HEAD blob: 200, Content-Length and Docker-Content-Digest, no body", async () => {
    const { config } = pushed();
    const reply = await client.request("HEAD", `/v2/${repo}/blobs/${digestOf(config)}`);
    expectStatus(reply, 200);
    expectHeader(reply, "Content-Length", String(config.length));
    expectHeader(reply, "Docker-Content-Digest", digestOf(config));
    expectEqual(reply.body.length, 0, "HEAD body length");
  });
}

async function checkRanges(ctx: RunContext, repo: string, pushed: () => PushedImage): Promise<void> {
  const { client, group } = ctx;
  const cases = [
    { range: "bytes=10-99", start: 10, end: 99 },
    { range: "bytes=-100", start: -100, end: -1 },
    { range: "bytes=500-", start: 500, end: -1 },
  ];
  for (const c of cases) {
    await group.check(`GET blob with Range: ${c.range} answers 206 with Content-Range and the slice`, async () => {
      const { layer } = pushed();
      const start = c.start < 0 ? layer.length + c.start : c.start;
      const end = c.end < 0 ? layer.length - 1 : c.end;
      const reply = await client.request("GET", `/v2/${repo}/blobs/${digestOf(layer)}`, {
        headers: { Range: c.range },
      });
      expectStatus(reply, 206);
      expectHeader(reply, "Content-Range", `bytes ${start}-${end}/${layer.length}`);
      expectHeader(reply, "Docker-Content-Digest", digestOf(layer));
      expectBytes(reply, layer.slice(start, end + 1));
    });
  }
  await group.check("GET blob with a Range past its end answers 416", async () => {
    const { layer } = pushed();
    const reply = await client.request("GET", `/v2/${repo}/blobs/${digestOf(layer)}`, {
      headers: { Range: `bytes=${layer.length + 10}-` },
    });
    expectStatus(reply, 416);
    expectHeader(reply, "Content-Range", `bytes */${layer.length}`);
  });
}

async function checkMissing(ctx: RunContext, repo: string, pushed: () => PushedImage): Promise<void> {
  const { client, group } = ctx;
  await group.check("GET manifest of an unknown tag answers 404 MANIFEST_UNKNOWN", async () => {
    expectError(
      await client.request("GET", `/v2/${repo}/manifests/no-such-tag`, { headers: { Accept: ACCEPT_MANIFESTS } }),
      404,
      "MANIFEST_UNKNOWN",
    );
  });
  await group.check("GET and HEAD manifest of an unknown digest answer 404 MANIFEST_UNKNOWN", async () => {
    expectError(await client.request("GET", `/v2/${repo}/manifests/${ZERO_DIGEST}`), 404, "MANIFEST_UNKNOWN");
    expectStatus(await client.request("HEAD", `/v2/${repo}/manifests/${ZERO_DIGEST}`), 404);
  });
  await group.check("GET and HEAD of an unknown blob answer 404 BLOB_UNKNOWN", async () => {
    expectError(await client.request("GET", `/v2/${repo}/blobs/${ZERO_DIGEST}`), 404, "BLOB_UNKNOWN");
    expectStatus(await client.request("HEAD", `/v2/${repo}/blobs/${ZERO_DIGEST}`), 404);
  });
  await group.check("a blob of one repository is 404 BLOB_UNKNOWN in another", async () => {
    const { layer } = pushed();
    expectError(
      await client.request("GET", `/v2/${ctx.repo("pull-elsewhere")}/blobs/${digestOf(layer)}`),
      404,
      "BLOB_UNKNOWN",
    );
  });
  await group.check("pulling from a repository that does not exist answers 404", async () => {
    expectError(
      await client.request("GET", `/v2/${ctx.repo("never-pushed")}/manifests/latest`),
      404,
      "NAME_UNKNOWN",
      "MANIFEST_UNKNOWN",
    );
  });
  await group.check("an invalid repository name answers 400 NAME_INVALID", async () => {
    expectError(await client.request("GET", `/v2/${ctx.namespace}/Upper-Case/manifests/latest`), 400, "NAME_INVALID");
  });
  await group.check("an invalid blob digest answers 400 DIGEST_INVALID", async () => {
    expectError(await client.request("GET", `/v2/${repo}/blobs/sha256:not-hex`), 400, "DIGEST_INVALID");
  });
  await group.check(
    "a manifest reference that is neither tag nor digest answers 404 MANIFEST_UNKNOWN on GET and HEAD",
    async () => {
      // The official v1.1.1 suite asks for ".INVALID_MANIFEST_NAME" and requires 404.
      for (const method of ["GET", "HEAD"]) {
        expectError(
          await client.request(method, `/v2/${repo}/manifests/.INVALID_MANIFEST_NAME`),
          404,
          "MANIFEST_UNKNOWN",
        );
        expectError(await client.request(method, `/v2/${repo}/manifests/-bad-tag`), 404, "MANIFEST_UNKNOWN");
      }
    },
  );
  await group.check("a malformed manifest digest answers 400 DIGEST_INVALID or 404", async () => {
    expectError(
      await client.request("GET", `/v2/${repo}/manifests/sha256:totallywrong`),
      [400, 404],
      "DIGEST_INVALID",
      "MANIFEST_UNKNOWN",
    );
  });
}
