// A local docker or podman engine, by image name: the image is exported through the engine's
// API socket (GET /images/get, the same archive `docker save` writes) into a temporary file,
// or with `docker save -o` when no socket is reachable. The file is then read in place.
import { spawnSync } from "node:child_process";
import { createWriteStream, existsSync, mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { CliError } from "../errors.js";
import type { ImageSource } from "../image-source.js";
import { openDockerArchive } from "./docker-archive.js";

/** The engine's unix socket: DOCKER_HOST=unix://..., else the usual docker/podman paths. */
export function engineSocket(env = process.env): string | null {
  const host = env.DOCKER_HOST;
  if (host?.startsWith("unix://")) return host.slice("unix://".length);
  if (host) return null;
  const candidates = [
    "/var/run/docker.sock",
    `/run/user/${process.getuid?.() ?? 0}/podman/podman.sock`,
    "/run/podman/podman.sock",
  ];
  return candidates.find((path) => existsSync(path)) ?? null;
}

async function exportThroughSocket(socketPath: string, image: string, file: string): Promise<void> {
  const response = await new Promise<http.IncomingMessage>((resolve, reject) => {
    const req = http.request(
      { socketPath, path: `/images/get?names=${encodeURIComponent(image)}`, method: "GET" },
      resolve,
    );
    req.on("error", reject);
    req.end();
  });
  if (response.statusCode !== 200) {
    let text = "";
    for await (const piece of response) text += piece;
    throw new CliError(
      `the engine at ${socketPath} could not export ${image}: ${response.statusCode} ${text.trim().slice(0, 300)}`,
      `check the name with \`docker images\``,
    );
  }
  await pipeline(response, createWriteStream(file));
}

function exportWithCli(image: string, file: string): void {
  const result = spawnSync("docker", ["save", "-o", file, image], { encoding: "utf8" });
  if (result.error)
    throw new CliError(
      `no engine socket found and \`docker save\` could not run: ${result.error.message}`,
      "set DOCKER_HOST=unix:///path/to/docker.sock, or pass a docker save archive or oci:DIR",
    );
  if (result.status !== 0) throw new CliError(`docker save ${image} failed: ${result.stderr.trim()}`);
}

export async function openEngineImage(image: string): Promise<ImageSource> {
  const dir = mkdtempSync(join(tmpdir(), "r2-registry-save-"));
  const file = join(dir, "image.tar");
  try {
    const socket = engineSocket();
    if (socket) await exportThroughSocket(socket, image, file);
    else exportWithCli(image, file);
    const source = await openDockerArchive(file, null);
    const close = source.close.bind(source);
    return Object.assign(source, {
      name: `engine:${image}`,
      close: async () => {
        await close();
        rmSync(dir, { recursive: true, force: true });
      },
    });
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}
