// Where a client may fetch a blob's bytes without the Worker: a presigned GET on R2's S3
// endpoint (BLOB_REDIRECT=presigned). Storage owns it because only storage knows which object
// holds a blob; the URL names that object and nothing else, and it is handed out only after
// the core has checked the caller's right to pull the repository and the repository's link.
// Signed with aws4fetch (a small, kept SigV4 implementation made for Workers) rather than by
// hand; test/e2e/delivery.test.ts checks its URLs against botocore's signer.
import { AwsV4Signer } from "aws4fetch";
import type { PresignedDelivery } from "../config/delivery";
import type { BlobRecord } from "./blobs";

/** SigV4's timestamp: 20261207T120000Z. */
function amzDate(at: Date): string {
  return at.toISOString().replace(/[:-]|\.\d{3}/g, "");
}

/** A GET of the blob's object that R2 honours until `expiresSeconds` after `now`. Only the
 *  host is signed, so a client may add Range; any other method, object or a changed query
 *  fails R2's check. */
export async function presignedBlobUrl(
  delivery: PresignedDelivery,
  record: BlobRecord,
  now: Date = new Date(),
): Promise<string> {
  const path = record.dataKey.split("/").map(encodeURIComponent).join("/");
  const url = new URL(`${delivery.endpoint}/${delivery.bucket}/${path}`);
  url.searchParams.set("X-Amz-Expires", String(delivery.expiresSeconds));
  const signer = new AwsV4Signer({
    method: "GET",
    url: url.toString(),
    accessKeyId: delivery.accessKeyId,
    secretAccessKey: delivery.secretAccessKey,
    service: "s3",
    region: "auto",
    datetime: amzDate(now),
    signQuery: true,
  });
  const signed = await signer.sign();
  return signed.url.toString();
}
