// The writers' half of the collection protocol, step by step: the test plays the collector
// (condemn, then delete) around a real manifest PUT or blob upload, in the order that would
// lose data if the writer did not re-read after writing (docs/gc.md, "Protocol").
import { reset } from "cloudflare:test";
import { beforeEach, expect, it } from "vitest";
import { parseDigest } from "../src/oci/digest";
import { headLinkVersion, listBlobRecordVersions } from "../src/storage/collector";
import { condemn } from "../src/storage/condemn";
import { bucket, buildImage, dockerPush, storage } from "./gc-helpers";
import { errorCode, pause, pushBlob, pushManifest, request, sha256, storedKeys } from "./helpers";

beforeEach(async () => {
  await reset();
});

it("fails a manifest PUT whose blob link the collector deletes while it is written", async () => {
  const first = await dockerPush(buildImage("proto/a", "one", 1));
  await request(`/v2/proto/a/manifests/${first!.digest}`, { method: "DELETE" });
  const next = buildImage("proto/a", "two", 2, 1);
  const layer = next.blobs[1]!.digest;
  const linkKey = storedKeys.blobLink("proto/a", layer);
  // The collector condemns the unreferenced layer link, then (not seeing the new manifest
  // yet) deletes it while the PUT is between its first check and its re-check.
  expect(await condemn(storage, (await headLinkVersion(storage, "proto/a", parseDigest(layer)))!, null)).not.toBeNull();
  await pushBlob("proto/a", next.blobs[0]!.bytes);
  const put = pushManifest("proto/a", "two", next.body);
  await pause(300);
  await bucket.delete([linkKey, storedKeys.blobRepo(layer, "proto/a")]);
  const response = await put;
  expect(response.status).toBe(404);
  expect(await errorCode(response)).toBe("MANIFEST_BLOB_UNKNOWN");
  expect((await request(`/v2/proto/a/manifests/${sha256(next.body)}`, { method: "HEAD" })).status).toBe(404);
  expect((await request("/v2/proto/a/manifests/two", { method: "HEAD" })).status).toBe(404);
});

it("publishes an upload's own bytes when the record it found is deleted before the link is checked", async () => {
  const image = await dockerPush(buildImage("proto/b", "one", 3));
  const layer = image!.blobs[1]!;
  const recordKey = storedKeys.blobRecord(layer.digest);
  const record = (await bucket.head(recordKey))!;
  await request(`/v2/proto/b/manifests/${image!.digest}`, { method: "DELETE" });
  await request(`/v2/proto/b/blobs/${layer.digest}`, { method: "DELETE" });
  // Condemned with no links left: an upload of the same bytes finds the record (dedupe),
  // links it, and must notice the record is gone before it answers. Its own bytes are still
  // stored, so they become the record instead.
  const judged = (await listBlobRecordVersions(storage, null, 1000)).items.find((r) => r.digest === layer.digest);
  expect(await condemn(storage, judged!, null)).not.toBeNull();
  const upload = request(`/v2/proto/c/blobs/uploads/?digest=${layer.digest}`, { method: "POST", body: layer.bytes });
  await pause(300);
  await bucket.delete([recordKey, record.customMetadata!.data!]);
  const response = await upload;
  expect(response.status).toBe(201);
  // A link may exist only while a record with the same bytes does (docs/gc.md).
  const link = await bucket.head(storedKeys.blobLink("proto/c", layer.digest));
  const current = await bucket.head(recordKey);
  expect(current?.customMetadata?.data).not.toBe(record.customMetadata!.data);
  expect(link?.customMetadata?.data).toBe(current!.customMetadata!.data);
  const pulled = await request(`/v2/proto/c/blobs/${layer.digest}`);
  expect(new Uint8Array(await pulled.arrayBuffer())).toEqual(layer.bytes);
});
