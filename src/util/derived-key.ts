// Keys derived from JWT_STATE_SECRET with HKDF-SHA-256, one label per purpose (access tokens,
// refresh tokens, web UI sessions, catalog cursors), so nothing signed or sealed for one
// purpose passes as another. Derivation costs a few WebCrypto calls, so each key is derived
// once per isolate and cached.
const derived = new Map<string, Promise<Uint8Array>>();

/** 256 bits of key material for `label`, from `secret` with `salt`. */
export function deriveSecretKey(secret: string, salt: string, label: string): Promise<Uint8Array> {
  const id = `${salt}\u0000${label}\u0000${secret}`;
  let key = derived.get(id);
  if (!key) {
    const encoder = new TextEncoder();
    key = (async () => {
      const base = await crypto.subtle.importKey("raw", encoder.encode(secret), "HKDF", false, ["deriveBits"]);
      const params = { name: "HKDF", hash: "SHA-256", salt: encoder.encode(salt), info: encoder.encode(label) };
      return new Uint8Array(await crypto.subtle.deriveBits(params, base, 256));
    })();
    derived.set(id, key);
  }
  return key;
}
