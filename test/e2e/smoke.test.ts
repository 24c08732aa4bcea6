// `npm start`'s runtime (scripts/dev.ts through the e2e harness): ready means ready, a TLS
// ClientHello is refused at once, and the API answers with auth.
import { connect as tlsConnect } from "node:tls";
import { afterAll, beforeAll, expect, it } from "vitest";
import { E2E_CREDENTIALS, freePort, startRegistry, type RegistryServer } from "./registry-server";

let server: RegistryServer;
/** How every connection tried while the registry started ended: "refused" or an HTTP status. */
const attempts: string[] = [];

beforeAll(async () => {
  const port = await freePort();
  let starting = true;
  const starter = startRegistry({ port }).finally(() => (starting = false));
  // Knock on the port while it starts: a connection the front door accepts must be answered.
  while (starting) {
    try {
      const reply = await fetch(`http://127.0.0.1:${port}/v2/`);
      await reply.arrayBuffer();
      attempts.push(String(reply.status));
    } catch (error) {
      const code = (error as { cause?: { code?: string } }).cause?.code ?? String(error);
      attempts.push(code === "ECONNREFUSED" ? "refused" : `failed: ${code}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  server = await starter;
});
afterAll(async () => {
  await server?.stop();
});

it("accepts no connection before the Worker answers", () => {
  expect(attempts.filter((a) => a !== "refused" && a !== "401")).toEqual([]);
});

it("answers /v2/ with 401 without credentials and 200 with them", async () => {
  const anonymous = await fetch(`${server.url}/v2/`);
  expect(anonymous.status).toBe(401);
  expect(anonymous.headers.get("Docker-Distribution-API-Version")).toBe("registry/2.0");
  const auth = `Basic ${Buffer.from(`${E2E_CREDENTIALS.username}:${E2E_CREDENTIALS.password}`).toString("base64")}`;
  const signedIn = await fetch(`${server.url}/v2/`, { headers: { Authorization: auth } });
  expect(signedIn.status).toBe(200);
});

it("hangs up on a TLS handshake at once, so clients fall back to HTTP without a timeout", async () => {
  const started = Date.now();
  const outcome = await new Promise<string>((resolve) => {
    const socket = tlsConnect({ host: "127.0.0.1", port: server.port, rejectUnauthorized: false });
    socket.on("secureConnect", () => resolve("handshake completed"));
    socket.on("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    socket.setTimeout(5000, () => resolve("no answer in 5 s"));
  });
  expect(outcome).toMatch(/ECONNRESET|socket disconnected/i);
  expect(Date.now() - started).toBeLessThan(5000);
});
