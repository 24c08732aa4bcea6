// Pure formatting for the web UI: human sizes, relative times, platforms, short digests.

const UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];

/** 1536 → "1.5 KiB"; three significant figures at most, binary units as docker shows them. */
export function humanBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return "?";
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  if (unit === 0) return `${bytes} B`;
  const text = value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2);
  // Trailing zeros of the fraction only: "1.50" → "1.5", "2.00" → "2", but "110" stays.
  return `${text.includes(".") ? text.replace(/\.?0+$/, "") : text} ${UNITS[unit]}`;
}

/** 12345 → "12,345" (the exact figure shown on hover). */
export function groupDigits(n: number): string {
  return String(Math.trunc(n)).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

const STEPS: [number, string][] = [
  [60, "second"],
  [60, "minute"],
  [24, "hour"],
  [30, "day"],
  [12, "month"],
  [Number.POSITIVE_INFINITY, "year"],
];

/** "3 minutes ago", "in 2 hours", "just now". */
export function relativeTime(at: number, now: number): string {
  let delta = Math.round((now - at) / 1000);
  const future = delta < 0;
  delta = Math.abs(delta);
  if (delta < 5) return "just now";
  let value = delta;
  for (const [size, name] of STEPS) {
    if (value < size) {
      const n = Math.floor(value);
      const words = `${n} ${name}${n === 1 ? "" : "s"}`;
      return future ? `in ${words}` : `${words} ago`;
    }
    value /= size;
  }
  return "long ago";
}

/** "2026-12-01 00:50:43 UTC" */
export function absoluteTime(at: number): string {
  return new Date(at)
    .toISOString()
    .replace("T", " ")
    .replace(/\.\d+Z$/, " UTC");
}

export interface Platform {
  os?: string;
  architecture?: string;
  variant?: string;
  "os.version"?: string;
}

export function platformName(p: Platform | undefined): string {
  if (!p || (!p.os && !p.architecture)) return "unknown";
  return [p.os ?? "?", p.architecture ?? "?", p.variant].filter(Boolean).join("/");
}

/** sha256:0123456789ab… → "sha256:0123456789ab" (12 hex digits, as docker shows IDs). */
export function shortDigest(digest: string): string {
  const colon = digest.indexOf(":");
  return colon < 0 ? digest.slice(0, 19) : digest.slice(0, colon + 13);
}

/** The last part of a media type, for narrow columns: "…oci.image.manifest.v1+json" → "OCI image". */
export function mediaTypeLabel(mediaType: string): string {
  const known: Record<string, string> = {
    "application/vnd.oci.image.manifest.v1+json": "OCI image",
    "application/vnd.oci.image.index.v1+json": "OCI index",
    "application/vnd.docker.distribution.manifest.v2+json": "Docker image",
    "application/vnd.docker.distribution.manifest.list.v2+json": "Docker manifest list",
  };
  return known[mediaType] ?? mediaType;
}

/** The Content-Type a download is sent with: the descriptor's media type when it is an
 *  application/ type (every layer, config and SBOM type is), else octet-stream. Nothing a
 *  browser would render (text/html, image/svg+xml) can be asked for through the link. */
export function downloadType(mediaType: string | null | undefined): string {
  return mediaType && /^application\/[\w.+-]{1,200}$/.test(mediaType) ? mediaType : "application/octet-stream";
}

/** A file name for a downloaded blob: its hex digest, with an extension from its type. */
export function downloadName(digest: string, mediaType: string): string {
  const hex = digest.slice(digest.indexOf(":") + 1);
  const extension = /tar\+gzip|tar\.gzip/.test(mediaType)
    ? ".tar.gz"
    : /tar\+zstd/.test(mediaType)
      ? ".tar.zst"
      : /\.tar$|tar$/.test(mediaType)
        ? ".tar"
        : /json$/.test(mediaType)
          ? ".json"
          : "";
  return hex + extension;
}
