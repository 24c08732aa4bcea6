// Removes what a conformance run pushed, unless --keep: every manifest it stored (deleted by
// digest, which also drops its tags) and every blob link, found in the client's request log
// under the run's namespace. The registry has no repository delete, so the emptied names stay
// in the catalog; the collector frees the bytes afterwards (docs/gc.md).
import type { RegistryClient, Reply } from "./client";

const MANIFEST_PUT = /^\/v2\/(.+)\/manifests\/[^/]+$/;
const BLOB_STORED = /^\/v2\/(.+)\/blobs\/uploads\/[^/]*$/;

export interface Cleanup {
  repositories: string[];
  manifests: number;
  blobs: number;
  /** Deletes the registry refused, as "DELETE path -> status". */
  refused: string[];
}

/** `[repository, digest]` of every 201 whose path matches, in the order they were stored. */
function stored(log: Reply[], method: string, path: RegExp, namespace: string): [string, string][] {
  const out: [string, string][] = [];
  for (const reply of log) {
    const match = reply.method === method && reply.status === 201 ? path.exec(reply.url.pathname) : null;
    const digest = reply.headers.get("Docker-Content-Digest");
    if (match && digest && match[1]!.startsWith(`${namespace}/`)) out.push([match[1]!, digest]);
  }
  return out;
}

function unique(pairs: [string, string][]): [string, string][] {
  const seen = new Set<string>();
  return pairs.filter(
    ([repo, digest]) => !seen.has(`${repo}@${digest}`) && seen.add(`${repo}@${digest}`) !== undefined,
  );
}

export async function cleanUp(client: RegistryClient, namespace: string): Promise<Cleanup> {
  const log = [...client.log];
  // Newest first: an index goes before the manifests it lists, a referrer before its subject.
  const manifests = unique(stored(log, "PUT", MANIFEST_PUT, namespace)).reverse();
  const blobs = unique([...stored(log, "PUT", BLOB_STORED, namespace), ...stored(log, "POST", BLOB_STORED, namespace)]);
  const result: Cleanup = {
    repositories: [...new Set([...manifests, ...blobs].map(([repo]) => repo))].sort(),
    manifests: 0,
    blobs: 0,
    refused: [],
  };
  const remove = async (kind: "manifests" | "blobs", [repo, digest]: [string, string]) => {
    const path = `/v2/${repo}/${kind}/${digest}`;
    const reply = await client.request("DELETE", path);
    if (reply.status === 202) result[kind]++;
    else if (reply.status !== 404) result.refused.push(`DELETE ${path} -> ${reply.status}`);
  };
  for (const pair of manifests) await remove("manifests", pair);
  for (const pair of blobs) await remove("blobs", pair);
  return result;
}
