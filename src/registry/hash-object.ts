// Hashes a stored object by streaming it through the runtime's native DigestStream.
// Used when an upload arrived in several requests, so no single request saw every byte.
import { toHex, webCryptoName, type DigestAlgorithm } from "../oci/digest";
import type { Storage } from "../storage/storage";

export async function hashObject(store: Storage, key: string, algorithm: DigestAlgorithm): Promise<string> {
  const object = await store.bucket.get(key);
  if (!object) throw new Error(`hashObject: ${key} is missing`);
  const hasher = new crypto.DigestStream(webCryptoName(algorithm));
  await object.body.pipeTo(hasher);
  return toHex(await hasher.digest);
}
