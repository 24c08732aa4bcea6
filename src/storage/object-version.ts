// One version of one stored object, as a listing, a head or a conditional put returned it:
// what the collector judges, condemns, pardons and deletes (condemn.ts). Above storage it is a
// token the collector hands back, never read: its key and etag are storage's business. This
// module, private to storage/ like keys.ts, is where storage turns what R2 returned into a
// version and back.

/** What storage reads of an object: its key, etag, size, upload time and metadata. R2's
 *  listing entries, heads and gets all have this shape. */
export interface ObjectHead {
  key: string;
  etag: string;
  size: number;
  uploaded: Date;
  customMetadata?: Record<string, string>;
  httpMetadata?: { contentType?: string };
}

declare const opaque: unique symbol;

/** A version of an object, opaque outside storage/. */
export interface ObjectVersion {
  readonly [opaque]: "ObjectVersion";
}

export function versionOf(head: ObjectHead): ObjectVersion {
  return head as unknown as ObjectVersion;
}

export function headOf(version: ObjectVersion): ObjectHead {
  return version as unknown as ObjectHead;
}
