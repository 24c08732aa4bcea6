// The webhook signature: HMAC-SHA256 of the raw request body under the webhook's secret, sent
// as `X-Registry-Signature-256: sha256=<lower-case hex>` (the shape GitHub's webhooks use,
// so receivers' existing verifiers fit). docs/events.md shows how to check it.
export const SIGNATURE_HEADER = "X-Registry-Signature-256";

export async function signBody(secret: string, body: string): Promise<string> {
  const encoder = new TextEncoder();
  const key = await crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
  ]);
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, encoder.encode(body)));
  return `sha256=${Array.from(mac, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}
