// Helpers both test projects import, and the conformance runner too: the workers tests (in
// workerd, through test/helpers.ts, which re-exports these) and the e2e tests (in Node,
// directly). So nothing here may need a binding, `cloudflare:test` or a Node-only module;
// node:crypto is in both runtimes (workerd under nodejs_compat).
//
// Where the other helpers live: test/helpers.ts (workers: requests through the app, pushes,
// the storage keys tests may touch), test/auth-setup.ts, test/gc-helpers.ts and
// test/ui-client.ts (workers, one area each); test/e2e/registry-server.ts (e2e: starting a
// registry and a suite's hooks for it, its credentials and their Basic header, a blob push)
// and test/e2e/clients/registry.ts (the client suites' hooks and API calls).
import { createHash } from "node:crypto";

/** The Authorization value for HTTP Basic (RFC 7617): base64 of the UTF-8 "user:password". */
export function basic(username: string, password: string): string {
  const bytes = new TextEncoder().encode(`${username}:${password}`);
  return `Basic ${btoa(String.fromCharCode(...bytes))}`;
}

/** The OCI digest ("sha256:<hex>") of bytes, or of a string's UTF-8 bytes. Synchronous, so
 *  fixtures can be built outside async code; an independent hash from the registry's own. */
export function sha256(bytes: Uint8Array | string): string {
  return `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}

export function sha512(bytes: Uint8Array | string): string {
  return `sha512:${createHash("sha512").update(bytes).digest("hex")}`;
}

export const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
export const OCI_INDEX = "application/vnd.oci.image.index.v1+json";

/** An image manifest naming one config (`config` as JSON) and one layer, the image most tests
 *  push; `extra` adds top-level fields (annotations, subject). Blobs and manifest come with
 *  their digests, nothing is pushed. */
export function singleLayerImage(config: unknown, layer: Uint8Array, extra: Record<string, unknown> = {}) {
  const configBytes = new TextEncoder().encode(JSON.stringify(config));
  const configDigest = sha256(configBytes);
  const layerDigest = sha256(layer);
  const body = JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: configDigest, size: configBytes.length },
    layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: layerDigest, size: layer.length }],
    ...extra,
  });
  return { config: configBytes, configDigest, layer, layerDigest, body, digest: sha256(body) };
}

/** Waits `ms`: for the steps of a race a test plays out (a writer between its checks), never
 *  to wait for a result. */
export function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Deterministic bytes from a seed (xorshift32), so failures reproduce. */
export function seededBytes(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed | 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}
