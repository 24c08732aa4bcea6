// Global setup of the workers project (runs in Node): a small upstream registry on 127.0.0.1
// for the pull-through tests, because the worker under test can fetch over the network but
// cannot start a server. Tests load content with PUT /_content/<name>/{manifests,blobs}/<ref>
// and point REGISTRIES_JSON at `upstreamUrl`. Anonymous, no token dance: the auth paths of
// pull-through are covered by the e2e test against docker-registry.
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { TestProject } from "vitest/node";
import { sha256 } from "../shared-helpers";

declare module "vitest" {
  export interface ProvidedContext {
    upstreamUrl: string;
  }
}

interface Entry {
  bytes: Buffer;
  contentType: string;
}

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

let server: Server | null = null;

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const content = new Map<string, Entry>();
  server = createServer(async (request, response) => {
    const url = new URL(request.url ?? "/", "http://upstream");
    const stored = /^\/_content\/(.+)\/(manifests|blobs)\/([^/]+)$/.exec(url.pathname);
    if (request.method === "PUT" && stored) {
      const bytes = await readBody(request);
      content.set(`${stored[1]}/${stored[2]}/${stored[3]}`, {
        bytes,
        contentType: request.headers["content-type"] ?? "application/octet-stream",
      });
      response.writeHead(201).end();
      return;
    }
    const served = /^\/v2\/(.+)\/(manifests|blobs)\/([^/]+)$/.exec(url.pathname);
    const entry = served ? content.get(`${served[1]}/${served[2]}/${served[3]}`) : undefined;
    if (!entry || (request.method !== "GET" && request.method !== "HEAD")) {
      response.writeHead(404, { "Content-Type": "application/json" }).end('{"errors":[{"code":"NOT_FOUND"}]}');
      return;
    }
    const digest = sha256(entry.bytes);
    response.writeHead(200, {
      "Content-Type": entry.contentType,
      "Content-Length": String(entry.bytes.length),
      "Docker-Content-Digest": digest,
    });
    response.end(request.method === "HEAD" ? undefined : entry.bytes);
  });
  await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  project.provide("upstreamUrl", `http://127.0.0.1:${port}`);
  return async () => {
    await new Promise<void>((resolve) => server!.close(() => resolve()));
  };
}
