// `npm run bench -- --wrk`: manifest GET by tag with auth under `wrk -c50` over TLS, against
// the local runtime and Debian's docker-registry (distribution 2.8, no auth) in one run, plus
// the runtime's own ceiling: an authenticated GET /v2/, which touches no storage.
import { execFileSync } from "node:child_process";
import { startRegistry } from "../test/e2e/registry-server";
import { pushImage } from "./costs";
import { peerAvailable, startPeer } from "./peer";

const AUTH = `Basic ${Buffer.from("bench:bench-password").toString("base64")}`;
/** Each target is measured this many times, interleaved. */
const ROUNDS = 3;
const ACCEPT = "application/vnd.oci.image.manifest.v1+json";

export interface WrkRow {
  target: string;
  url: string;
  rps: number;
  errors: string;
}

function wrk(target: string, url: string, auth: boolean, seconds: number): WrkRow {
  const args = [
    "-t2",
    "-c50",
    `-d${seconds}s`,
    "-H",
    `Accept: ${ACCEPT}`,
    ...(auth ? ["-H", `Authorization: ${AUTH}`] : []),
    url,
  ];
  const out = execFileSync("wrk", args, { encoding: "utf8" });
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? 0);
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1];
  const socket = /Socket errors: ([^\n]+)/.exec(out)?.[1];
  const row = {
    target,
    url,
    rps,
    errors: [non2xx ? `${non2xx} non-2xx` : "", socket ?? ""].filter(Boolean).join("; ") || "none",
  };
  console.log(`${target.padEnd(60)} ${rps.toFixed(0).padStart(6)} req/s  errors: ${row.errors}`);
  return row;
}

export async function benchWrk(seconds: number): Promise<WrkRow[]> {
  const rows: WrkRow[] = [];
  const server = await startRegistry({ protocol: "https", vars: { USERNAME: "bench", PASSWORD: "bench-password" } });
  const peer = peerAvailable() ? await startPeer({ tls: true }) : null;
  try {
    await pushImage({ url: server.url, auth: AUTH }, "bench/image");
    if (peer) await pushImage({ url: peer.url, auth: null }, "bench/image");
    // Rounds interleave the targets, so a burst of load from elsewhere on the machine does not
    // fall on one target only; the table shows each target's median round.
    for (let round = 0; round < ROUNDS; round++) {
      rows.push(wrk("runtime: GET /v2/ with auth (no storage; the ceiling)", `${server.url}/v2/`, true, seconds));
      rows.push(
        wrk("runtime: manifest GET by tag with auth", `${server.url}/v2/bench/image/manifests/v1`, true, seconds),
      );
      if (peer)
        rows.push(
          wrk(
            "docker-registry 2.8: manifest GET by tag, no auth",
            `${peer.url}/v2/bench/image/manifests/v1`,
            false,
            seconds,
          ),
        );
    }
  } finally {
    await peer?.stop();
    await server.stop();
  }
  return rows;
}

export function wrkTable(rows: WrkRow[]): string {
  const lines = [`| target (TLS, wrk -t2 -c50) | median req/s | rounds (req/s) | errors |`, "|---|---|---|---|"];
  for (const target of [...new Set(rows.map((r) => r.target))]) {
    const runs = rows.filter((r) => r.target === target);
    const sorted = runs.map((r) => r.rps).sort((a, b) => a - b);
    const median = sorted[Math.floor((sorted.length - 1) / 2)]!;
    lines.push(
      `| ${target} | ${median.toFixed(0)} | ${runs.map((r) => r.rps.toFixed(0)).join(", ")} | ${runs.map((r) => r.errors).join("; ")} |`,
    );
  }
  return lines.join("\n");
}
