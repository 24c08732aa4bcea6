// Hashes a stored object by streaming it through the runtime's native DigestStream.
// Used when an upload arrived in several requests, so no single request saw every byte.
import { toHex, webCryptoName, type DigestAlgorithm } from "../oci/digest";

export async function hashObject(bucket: R2Bucket, key: string, algorithm: DigestAlgorithm): Promise<string> {
  const object = await bucket.get(key);
  if (!object) throw new Error(`hashObject: ${key} is missing`);
  const hasher = new crypto.DigestStream(webCryptoName(algorithm));
  await object.body.pipeTo(hasher);
  return toHex(await hasher.digest);
}
