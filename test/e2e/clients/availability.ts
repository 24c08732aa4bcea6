// Which real clients and engines this machine has. A scenario names what it needs; locally a
// missing one skips only that scenario with a one-line reason, and in CI (E2E_REQUIRE_ALL=1)
// it fails the scenario instead, so nothing is silently skipped there.
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { requireAll } from "../registry-server";
import { run } from "./run";

export type Client = "docker" | "podman" | "buildah" | "skopeo" | "umoci" | "ctr" | "busybox" | "crane" | "oras";

const cache = new Map<Client, Promise<string | null>>();

/** The containerd socket for ctr: CONTAINERD_ADDRESS, else the one dockerd starts under
 *  its exec-root (.ci/run uses <dir>/exec next to <dir>/docker.sock). */
export function containerdAddress(): string | null {
  if (process.env.CONTAINERD_ADDRESS) return process.env.CONTAINERD_ADDRESS;
  const dockerHost = process.env.DOCKER_HOST;
  if (!dockerHost?.startsWith("unix://")) return null;
  return join(dirname(dockerHost.slice("unix://".length)), "exec/containerd/containerd.sock");
}

async function probe(command: string, args: string[]): Promise<string | null> {
  try {
    const result = await run(command, args, { timeoutMs: 15_000 });
    if (result.code === 0) return null;
    return `\`${command} ${args.join(" ")}\` failed: ${(result.stderr || result.stdout).trim().split("\n")[0]}`;
  } catch (error) {
    return `${command} is not installed (${(error as Error).message})`;
  }
}

async function checkClient(client: Client): Promise<string | null> {
  switch (client) {
    case "docker":
      if (!process.env.DOCKER_HOST && !existsSync("/var/run/docker.sock"))
        return "no docker engine: DOCKER_HOST is unset";
      return probe("docker", ["info", "--format", "{{.ServerVersion}}"]);
    case "ctr": {
      const address = containerdAddress();
      if (!address || !existsSync(address))
        return `no containerd socket (set CONTAINERD_ADDRESS; looked at ${address ?? "nothing"})`;
      return probe("ctr", ["--address", address, "version"]);
    }
    // Go CLIs with a version subcommand, found on PATH (.ci/run puts the shared tools there).
    case "crane":
    case "oras":
      return probe(client, ["version"]);
    case "busybox":
      return existsSync("/bin/busybox") ? null : "busybox-static is not installed (/bin/busybox)";
    default:
      return probe(client, ["--version"]);
  }
}

/** Why `client` cannot run here, or null when it can. */
export function missingReason(client: Client): Promise<string | null> {
  let pending = cache.get(client);
  if (!pending) {
    pending = checkClient(client);
    cache.set(client, pending);
  }
  return pending;
}

interface SkipContext {
  skip(note?: string): never;
}

const reported = new Set<string>();

/** Skips the calling test (or fails it under E2E_REQUIRE_ALL=1) unless every client is here. */
export async function needClients(context: SkipContext, ...clients: Client[]): Promise<void> {
  for (const client of clients) {
    const reason = await missingReason(client);
    if (!reason) continue;
    const line = `${client} unavailable: ${reason}`;
    if (requireAll()) throw new Error(`E2E_REQUIRE_ALL=1 but ${line}`);
    if (!reported.has(line)) console.warn(`[e2e skip] ${line}`);
    reported.add(line);
    context.skip(line);
  }
}
