// Push, blob half (distribution-spec "Pushing blobs"): POST then PUT, single POST, streamed
// and chunked PATCH with out-of-order chunks, upload status, cancel, and sha512.
import { describe, expectBytes, expectError, expectHeader, expectStatus, fail } from "./assert";
import { streamOf, type RegistryClient, type Reply } from "./client";
import { digestOf, seededBytes } from "./content";
import type { RunContext } from "./context";

const OCTETS = { "Content-Type": "application/octet-stream" };

/** The session URL with `?digest=` added to whatever query the registry put there. */
export function withDigest(client: RegistryClient, location: string, digest: string): string {
  const url = client.resolve(location);
  url.searchParams.set("digest", digest);
  return url.href;
}

export function locationOf(reply: Reply): string {
  return reply.headers.get("Location") ?? fail(`no Location header: ${describe(reply)}`);
}

export async function openSession(client: RegistryClient, repo: string, query = ""): Promise<Reply> {
  const reply = await client.request("POST", `/v2/${repo}/blobs/uploads/${query}`, {
    headers: { "Content-Length": "0" },
  });
  expectStatus(reply, 202);
  locationOf(reply);
  return reply;
}

/** GET of the blob answers 200 with exactly these bytes and their digest. */
export async function expectBlob(
  client: RegistryClient,
  repo: string,
  bytes: Uint8Array,
  algorithm: "sha256" | "sha512" = "sha256",
): Promise<void> {
  const digest = digestOf(bytes, algorithm);
  const reply = await client.request("GET", `/v2/${repo}/blobs/${digest}`);
  expectStatus(reply, 200);
  expectHeader(reply, "Docker-Content-Digest", digest);
  expectBytes(reply, bytes);
}

export async function runPushBlobs(ctx: RunContext): Promise<void> {
  await checkMonolithic(ctx);
  await checkStreamed(ctx);
  await checkChunked(ctx);
  await checkSessionErrors(ctx);
  await checkSha512(ctx);
}

async function checkMonolithic(ctx: RunContext): Promise<void> {
  const { client, group } = ctx;
  const repo = ctx.repo("push");
  await group.check("POST answers 202 with a Location unique to each session", async () => {
    const first = locationOf(await openSession(client, repo));
    const second = locationOf(await openSession(client, repo));
    if (first === second) fail(`two sessions share the Location ${first}`);
  });
  await group.check("POST then PUT ?digest= with the whole blob answers 201 with a pullable Location", async () => {
    const bytes = seededBytes(3001, 21);
    const session = await openSession(client, repo);
    const put = await client.request("PUT", withDigest(client, locationOf(session), digestOf(bytes)), {
      headers: OCTETS,
      body: bytes,
    });
    expectStatus(put, 201);
    expectHeader(put, "Docker-Content-Digest", digestOf(bytes));
    const get = await client.request("GET", locationOf(put));
    expectStatus(get, 200);
    expectBytes(get, bytes);
  });
  await group.check("single POST ?digest= with the whole blob answers 201 with a pullable Location", async () => {
    const bytes = seededBytes(2999, 22);
    const post = await client.request("POST", `/v2/${repo}/blobs/uploads/?digest=${digestOf(bytes)}`, {
      headers: OCTETS,
      body: bytes,
    });
    expectStatus(post, 201);
    const get = await client.request("GET", locationOf(post));
    expectStatus(get, 200);
    expectBytes(get, bytes);
  });
  await group.check(
    "single POST with a digest that does not match answers 400 DIGEST_INVALID and stores nothing",
    async () => {
      const bytes = seededBytes(500, 23);
      const wrong = digestOf(seededBytes(500, 24));
      expectError(
        await client.request("POST", `/v2/${repo}/blobs/uploads/?digest=${wrong}`, { headers: OCTETS, body: bytes }),
        400,
        "DIGEST_INVALID",
      );
      expectError(await client.request("GET", `/v2/${repo}/blobs/${wrong}`), 404, "BLOB_UNKNOWN");
    },
  );
  await group.check("POST ?digest= with a malformed digest answers 400 DIGEST_INVALID", async () => {
    expectError(
      await client.request("POST", `/v2/${repo}/blobs/uploads/?digest=sha256:xyz`, { headers: OCTETS, body: "abc" }),
      400,
      "DIGEST_INVALID",
    );
  });
  await group.check("POST to an invalid repository name answers 400 NAME_INVALID", async () => {
    expectError(await client.request("POST", `/v2/${ctx.namespace}/Bad..Name/blobs/uploads/`), 400, "NAME_INVALID");
  });
}

async function checkStreamed(ctx: RunContext): Promise<void> {
  const { client, group } = ctx;
  const repo = ctx.repo("push");
  await group.check(
    "streamed PATCH (chunked transfer, no Content-Range) answers 202 with Range; PUT closes it",
    async () => {
      const bytes = seededBytes(200_003, 31);
      const session = await openSession(client, repo);
      const patch = await client.request("PATCH", locationOf(session), { headers: OCTETS, body: streamOf(bytes) });
      expectStatus(patch, 202);
      expectHeader(patch, "Range", `0-${bytes.length - 1}`);
      const put = await client.request("PUT", withDigest(client, locationOf(patch), digestOf(bytes)));
      expectStatus(put, 201);
      await expectBlob(client, repo, bytes);
    },
  );
}

/** Chunks of odd sizes, at least the registry's advertised minimum. */
function chunkPlan(session: Reply): number[] {
  const min = Number(session.headers.get("OCI-Chunk-Min-Length") ?? "0") || 0;
  const first = Math.max(min, 70_001);
  return [first, first + 13, Math.max(min, 4097)];
}

function rangeHeaders(start: number, length: number): Record<string, string> {
  return { ...OCTETS, "Content-Range": `${start}-${start + length - 1}` };
}

async function checkChunked(ctx: RunContext): Promise<void> {
  const { client, group } = ctx;
  const repo = ctx.repo("push");
  let session: Reply | undefined;
  let sizes: number[] = [];
  let location = "";
  let blob: Uint8Array = new Uint8Array(0);
  const ready = await group.check(
    "chunked upload: POST answers 202 (OCI-Chunk-Min-Length, if any, is a number)",
    async () => {
      session = await openSession(client, repo);
      const min = session.headers.get("OCI-Chunk-Min-Length");
      if (min !== null && !/^[0-9]+$/.test(min)) fail(`OCI-Chunk-Min-Length is not a number: ${min}`);
      sizes = chunkPlan(session);
      location = locationOf(session);
      blob = seededBytes(sizes.reduce((a, b) => a + b, 0) + 2049, 41);
    },
  );
  const need = () => (ready ? undefined : fail("the session could not be opened"));
  let offset = 0;
  const patch = async (start: number, length: number) =>
    client.request("PATCH", location, {
      headers: rangeHeaders(start, length),
      body: blob.slice(start, start + length),
    });
  await group.check("first PATCH with Content-Range 0-<end> answers 202 with Range and Location", async () => {
    need();
    const reply = await patch(0, sizes[0]!);
    expectStatus(reply, 202);
    expectHeader(reply, "Range", `0-${sizes[0]! - 1}`);
    location = locationOf(reply);
    offset = sizes[0]!;
  });
  await group.check("GET on the session answers 204 with Range and Location", async () => {
    need();
    const reply = await client.request("GET", location);
    expectStatus(reply, 204);
    expectHeader(reply, "Range", `0-${offset - 1}`);
    location = locationOf(reply);
  });
  await group.check("a PATCH that skips ahead answers 416", async () => {
    need();
    expectStatus(await patch(offset + 10, 100), 416);
  });
  await group.check("repeating the first chunk answers 416", async () => {
    need();
    expectStatus(await patch(0, sizes[0]!), 416);
  });
  await group.check("after a 416, GET on the session still reports the last good Range", async () => {
    need();
    const reply = await client.request("GET", location);
    expectStatus(reply, 204);
    expectHeader(reply, "Range", `0-${offset - 1}`);
    location = locationOf(reply);
  });
  await group.check("further PATCHes of odd sizes answer 202 with the growing Range", async () => {
    need();
    for (const size of sizes.slice(1)) {
      const reply = await patch(offset, size);
      expectStatus(reply, 202);
      expectHeader(reply, "Range", `0-${offset + size - 1}`);
      location = locationOf(reply);
      offset += size;
    }
  });
  await group.check(
    "closing PUT with the last chunk and its Content-Range answers 201; the blob reads back",
    async () => {
      need();
      const last = blob.slice(offset);
      const reply = await client.request("PUT", withDigest(client, location, digestOf(blob)), {
        headers: rangeHeaders(offset, last.length),
        body: last,
      });
      expectStatus(reply, 201);
      expectHeader(reply, "Location");
      await expectBlob(client, repo, blob);
    },
  );
}

async function checkSessionErrors(ctx: RunContext): Promise<void> {
  const { client, group } = ctx;
  const repo = ctx.repo("push");
  await group.check("closing PUT with an out-of-order last chunk answers 416", async () => {
    const bytes = seededBytes(300, 51);
    const session = await openSession(client, repo);
    const first = await client.request("PATCH", locationOf(session), {
      headers: rangeHeaders(0, 100),
      body: bytes.slice(0, 100),
    });
    expectStatus(first, 202);
    const put = await client.request("PUT", withDigest(client, locationOf(first), digestOf(bytes)), {
      headers: rangeHeaders(150, 150),
      body: bytes.slice(150),
    });
    expectStatus(put, 416);
  });
  await group.check("closing PUT with the wrong digest answers 400 DIGEST_INVALID", async () => {
    const bytes = seededBytes(400, 52);
    const session = await openSession(client, repo);
    const wrong = digestOf(seededBytes(400, 53));
    expectError(
      await client.request("PUT", withDigest(client, locationOf(session), wrong), { headers: OCTETS, body: bytes }),
      400,
      "DIGEST_INVALID",
    );
    expectError(await client.request("GET", `/v2/${repo}/blobs/${wrong}`), 404, "BLOB_UNKNOWN");
  });
  await group.check("DELETE of a session answers 204; the session is then 404 BLOB_UPLOAD_UNKNOWN", async () => {
    const session = await openSession(client, repo);
    const patch = await client.request("PATCH", locationOf(session), {
      headers: rangeHeaders(0, 10),
      body: seededBytes(10, 54),
    });
    expectStatus(patch, 202);
    const location = locationOf(patch);
    expectStatus(await client.request("DELETE", location, { headers: { "Content-Length": "0" } }), 204);
    expectError(await client.request("GET", location), 404, "BLOB_UPLOAD_UNKNOWN");
    expectError(
      await client.request("PATCH", location, { headers: rangeHeaders(10, 5), body: seededBytes(5, 55) }),
      404,
      "BLOB_UPLOAD_UNKNOWN",
    );
  });
  await group.check("GET of an unknown session answers 404 BLOB_UPLOAD_UNKNOWN", async () => {
    expectError(
      await client.request("GET", `/v2/${repo}/blobs/uploads/${crypto.randomUUID()}`),
      404,
      "BLOB_UPLOAD_UNKNOWN",
    );
  });
}

async function checkSha512(ctx: RunContext): Promise<void> {
  const { client, group } = ctx;
  const repo = ctx.repo("push");
  await group.check(
    "single POST with a sha512 digest answers 201; GET by sha512 answers with that digest",
    async () => {
      const bytes = seededBytes(777, 61);
      expectStatus(
        await client.request("POST", `/v2/${repo}/blobs/uploads/?digest=${digestOf(bytes, "sha512")}`, {
          headers: OCTETS,
          body: bytes,
        }),
        201,
      );
      await expectBlob(client, repo, bytes, "sha512");
    },
  );
  await group.check("POST ?digest-algorithm=sha512, PATCH, then PUT ?digest=sha512:... answers 201", async () => {
    const bytes = seededBytes(90_001, 62);
    const session = await openSession(client, repo, "?digest-algorithm=sha512");
    const patch = await client.request("PATCH", locationOf(session), {
      headers: rangeHeaders(0, bytes.length),
      body: bytes,
    });
    expectStatus(patch, 202);
    expectStatus(await client.request("PUT", withDigest(client, locationOf(patch), digestOf(bytes, "sha512"))), 201);
    await expectBlob(client, repo, bytes, "sha512");
  });
}
