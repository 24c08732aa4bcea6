// Whether a webhook's host is a public address, judged from the URL alone. Pure.
// Input is a WHATWG URL's `hostname`, which has already turned every IPv4 spelling
// (2130706433, 0x7f.1, 017700000001) into dotted decimal and every IPv6 literal into
// bracketed, compressed lower-case hex (IPv4-mapped forms included: [::ffff:7f00:1]).
// A name that DNS resolves at delivery time cannot be judged here: a Worker has no resolver,
// and Cloudflare's egress is what stands between a name and the operator's network
// (docs/events.md, "Private addresses").

/** [first address, prefix length, why it is not public]; IANA's special-purpose registries
 *  (RFC 6890 and its updates), the ranges no webhook on the public internet lives in. */
const IPV4_RANGES: [string, number, string][] = [
  ["0.0.0.0", 8, "this-network"],
  ["10.0.0.0", 8, "private"],
  ["100.64.0.0", 10, "shared (CGNAT)"],
  ["127.0.0.0", 8, "loopback"],
  ["169.254.0.0", 16, "link-local"],
  ["172.16.0.0", 12, "private"],
  ["192.0.0.0", 24, "IETF protocol assignment"],
  ["192.0.2.0", 24, "documentation"],
  ["192.88.99.0", 24, "6to4 relay"],
  ["192.168.0.0", 16, "private"],
  ["198.18.0.0", 15, "benchmarking"],
  ["198.51.100.0", 24, "documentation"],
  ["203.0.113.0", 24, "documentation"],
  ["224.0.0.0", 4, "multicast"],
  ["240.0.0.0", 4, "reserved"],
];

/** Names that never leave the machine or the site (RFC 6761, RFC 6762, RFC 8375). */
const LOCAL_SUFFIXES = [".localhost", ".local", ".internal", ".home.arpa", ".localdomain"];

function parseIpv4(text: string): number | null {
  const parts = text.split(".");
  if (parts.length !== 4 || !parts.every((p) => /^(0|[1-9]\d{0,2})$/.test(p) && Number(p) <= 255)) return null;
  return parts.reduce((n, p) => n * 256 + Number(p), 0);
}

function ipv4Reason(address: number): string | null {
  for (const [first, bits, reason] of IPV4_RANGES) {
    const size = 2 ** (32 - bits);
    const start = parseIpv4(first)!;
    if (address >= start && address < start + size) return reason;
  }
  return null;
}

/** The eight 16-bit groups of an IPv6 literal (without brackets), or null. */
function parseIpv6(text: string): number[] | null {
  let body = text;
  const tail: number[] = [];
  const dotted = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(body);
  if (dotted) {
    const v4 = parseIpv4(dotted[2]!);
    if (v4 === null) return null;
    tail.push(Math.floor(v4 / 65536), v4 % 65536);
    body = dotted[1]!.endsWith("::") ? dotted[1]! : dotted[1]!.slice(0, -1);
  }
  const halves = body.split("::");
  if (halves.length > 2) return null;
  const groups = (s: string) => (s === "" ? [] : s.split(":"));
  const head = groups(halves[0]!);
  const rest = halves.length === 2 ? groups(halves[1]!) : [];
  if (![...head, ...rest].every((g) => /^[0-9a-f]{1,4}$/.test(g))) return null;
  const known = head.length + rest.length + tail.length;
  if (halves.length === 1 ? known !== 8 : known > 7) return null;
  const zeros = new Array<number>(8 - known).fill(0);
  return [...head.map((g) => parseInt(g, 16)), ...zeros, ...rest.map((g) => parseInt(g, 16)), ...tail];
}

const embeddedIpv4 = (g: number[]) => g[6]! * 65536 + g[7]!;

function ipv6Reason(g: number[]): string | null {
  const zeroTo = (n: number) => g.slice(0, n).every((x) => x === 0);
  if (zeroTo(8)) return "unspecified";
  if (zeroTo(7) && g[7] === 1) return "loopback";
  // ::ffff:a.b.c.d (IPv4-mapped) reaches the IPv4 address; 64:ff9b::/96 (NAT64) too.
  if (zeroTo(5) && g[5] === 0xffff) return ipv4Reason(embeddedIpv4(g));
  if (g[0] === 0x64 && g[1] === 0xff9b && g.slice(2, 6).every((x) => x === 0)) return ipv4Reason(embeddedIpv4(g));
  // 2002::/16 (6to4) carries an IPv4 address in its second and third groups.
  if (g[0] === 0x2002) return ipv4Reason(g[1]! * 65536 + g[2]!);
  if ((g[0]! & 0xfe00) === 0xfc00) return "unique local";
  if ((g[0]! & 0xffc0) === 0xfe80) return "link-local";
  if ((g[0]! & 0xffc0) === 0xfec0) return "site-local";
  if ((g[0]! & 0xff00) === 0xff00) return "multicast";
  if (g[0] === 0x2001 && g[1] === 0x0db8) return "documentation";
  if ((g[0]! & 0xfff0) === 0x3ff0) return "documentation";
  if (g[0] === 0x2001 && g[1]! < 0x0200) return "IETF protocol assignment";
  // Everything else outside 2000::/3, global unicast, is reserved or special-purpose
  // (::/96 IPv4-compatible, 100::/64 discard, 64:ff9b:1::/48 local NAT64, ...).
  if ((g[0]! & 0xe000) !== 0x2000) return "reserved";
  return null;
}

/** Why `hostname` (a URL's) is not a public address, or null when it is, or is a name whose
 *  address only DNS knows. */
export function nonPublicReason(hostname: string): string | null {
  const host = hostname.toLowerCase().replace(/\.$/, "");
  if (host.startsWith("[") && host.endsWith("]")) {
    const groups = parseIpv6(host.slice(1, -1));
    return groups === null ? "not an IPv6 address" : ipv6Reason(groups);
  }
  const v4 = parseIpv4(host);
  if (v4 !== null) return ipv4Reason(v4);
  if (host === "localhost" || LOCAL_SUFFIXES.some((s) => host.endsWith(s))) return "local name";
  // A single label ("intranet", "metadata") is resolved by a search domain, never by public DNS.
  if (!host.includes(".")) return "single-label name";
  return null;
}
