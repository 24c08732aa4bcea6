// Parses the Authorization header. Pure; fuzzed in test/auth.test.ts: it never throws.

export type Credentials =
  | { kind: "basic"; username: string; password: string }
  | { kind: "bearer"; token: string }
  | { kind: "none" }
  | { kind: "malformed" };

function decodeBase64Utf8(value: string): string | null {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(value) || value.length % 4 === 1) return null;
  try {
    const binary = atob(value);
    const bytes = Uint8Array.from(binary, (ch) => ch.charCodeAt(0));
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    return null;
  }
}

export function parseAuthorization(header: string | null | undefined): Credentials {
  if (header == null || header.trim() === "") return { kind: "none" };
  const match = /^\s*([A-Za-z]+)\s+(\S+)\s*$/.exec(header);
  if (!match) return { kind: "malformed" };
  const scheme = match[1]!.toLowerCase();
  const value = match[2]!;
  if (scheme === "bearer") return { kind: "bearer", token: value };
  if (scheme !== "basic") return { kind: "malformed" };
  const decoded = decodeBase64Utf8(value);
  if (decoded === null) return { kind: "malformed" };
  const colon = decoded.indexOf(":");
  if (colon < 0) return { kind: "malformed" };
  return { kind: "basic", username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}
