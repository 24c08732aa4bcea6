// The closing lines of push and pull for people (--json prints the numbers themselves): what
// went over the wire, and what did not and why (resumed, already there, mounted, on disk).
import { formatBytes } from "./chunk-plan.js";
import type { PushSummary } from "./push.js";

export interface PullSummary {
  digest: string;
  reference: string;
  dest: string;
  manifests: number;
  blobs: number;
  bytesTotal: number;
  bytesReceived: number;
  /** Blobs already in the destination layout, and their bytes. */
  present: number;
  bytesPresent: number;
  seconds: number;
}

const blobs = (n: number) => `${n} blob${n === 1 ? "" : "s"}`;

export function pushSummaryLines(s: PushSummary): string[] {
  const parts = [`sent ${formatBytes(s.bytesSent)} of ${formatBytes(s.bytesTotal)} in ${s.seconds.toFixed(1)} s`];
  if (s.resumed > 0) parts.push(`resumed ${formatBytes(s.bytesResumed)} an earlier run had sent (${blobs(s.resumed)})`);
  if (s.existed > 0) parts.push(`${blobs(s.existed)} already there (${formatBytes(s.bytesExisted)})`);
  if (s.mounted > 0) parts.push(`${blobs(s.mounted)} mounted from another repository (${formatBytes(s.bytesMounted)})`);
  return [
    s.digest,
    `pushed ${s.reference} (${s.mediaType}, ${s.manifests} manifests, ${blobs(s.blobs)})`,
    parts.join("; "),
    ...(s.note ? [s.note] : []),
  ];
}

export function pullSummaryLines(s: PullSummary): string[] {
  const parts = [
    `received ${formatBytes(s.bytesReceived)} of ${formatBytes(s.bytesTotal)} in ${s.seconds.toFixed(1)} s`,
  ];
  if (s.present > 0) parts.push(`${blobs(s.present)} already in ${s.dest} (${formatBytes(s.bytesPresent)})`);
  return [
    s.digest,
    `pulled ${s.reference} into ${s.dest} (${s.manifests} manifests, ${blobs(s.blobs)})`,
    parts.join("; "),
  ];
}
