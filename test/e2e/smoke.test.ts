// Starts wrangler dev as the README's `npm start` does and checks the API answers with auth.
import { afterAll, beforeAll, expect, it } from "vitest";
import { E2E_CREDENTIALS, startRegistry, type RegistryServer } from "./registry-server";

let server: RegistryServer;
beforeAll(async () => {
  server = await startRegistry({ protocol: "https" });
});
afterAll(async () => {
  await server?.stop();
});

it("answers /v2/ with 401 without credentials and 200 with them", async () => {
  const anonymous = await fetch(`${server.url}/v2/`);
  expect(anonymous.status).toBe(401);
  expect(anonymous.headers.get("Docker-Distribution-API-Version")).toBe("registry/2.0");
  const auth = "Basic " + Buffer.from(`${E2E_CREDENTIALS.username}:${E2E_CREDENTIALS.password}`).toString("base64");
  const signedIn = await fetch(`${server.url}/v2/`, { headers: { Authorization: auth } });
  expect(signedIn.status).toBe(200);
});
