// A registry as a source, for copy: manifests by GET, blobs streamed by ranged GET, so the
// destination's chunked uploads stream through without touching disk.
import { createHash } from "node:crypto";
import { CliError } from "../errors.js";
import { MANIFEST_ACCEPT, type Descriptor, type ImageSource } from "../image-source.js";
import { formatRegistryRef, manifestReference, type RegistryRef } from "../reference.js";
import type { RegistryClient } from "../registry-client.js";

export class RegistrySource implements ImageSource {
  readonly name: string;
  private readonly manifests = new Map<string, Buffer>();

  constructor(
    private readonly client: RegistryClient,
    readonly ref: RegistryRef,
  ) {
    this.name = formatRegistryRef(ref);
  }

  /** GET a manifest by tag or digest, checking its digest, and remember its bytes. */
  async fetchManifest(reference: string): Promise<{ desc: Descriptor; bytes: Buffer }> {
    const response = await this.client.request({
      method: "GET",
      url: this.client.manifestUrl(reference),
      headers: { Accept: MANIFEST_ACCEPT },
    });
    if (response.status !== 200) throw await this.client.failure(response, `GET manifest ${reference}`);
    const bytes = await response.buffer();
    const digest = `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
    if (reference.startsWith("sha256:") && reference !== digest)
      throw new CliError(`manifest ${reference} arrived with digest ${digest}`);
    const mediaType = (response.header("content-type") ?? "").split(";")[0]!.trim();
    this.manifests.set(digest, bytes);
    return { desc: { mediaType, digest, size: bytes.length }, bytes };
  }

  async root(): Promise<Descriptor> {
    return (await this.fetchManifest(manifestReference(this.ref))).desc;
  }

  async readBytes(desc: Descriptor): Promise<Buffer> {
    const known = this.manifests.get(desc.digest);
    if (known) return known;
    if (desc.mediaType.includes("manifest") || desc.mediaType.includes("index"))
      return (await this.fetchManifest(desc.digest)).bytes;
    const parts: Buffer[] = [];
    for await (const piece of await this.client.openBlob(desc.digest)) parts.push(piece as Buffer);
    return Buffer.concat(parts);
  }

  async openBlob(desc: Descriptor, start: number, end: number) {
    return this.client.openBlob(desc.digest, start, end);
  }

  async has(desc: Descriptor): Promise<boolean> {
    if (this.manifests.has(desc.digest)) return true;
    const response = await this.client.request({
      method: "HEAD",
      url: this.client.manifestUrl(desc.digest),
      headers: { Accept: MANIFEST_ACCEPT },
    });
    await response.drain();
    return response.status === 200;
  }

  async close(): Promise<void> {}
}
