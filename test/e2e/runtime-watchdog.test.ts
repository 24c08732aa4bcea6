// The local runtime's watchdog (scripts/local-runtime/watchdog.ts): a workerd whose thread
// never comes back is restarted, loudly, and the runtime answers again. The stand-in for
// workerd's own hang is a Worker that loops forever (test/e2e/spin-worker/).
import { join } from "node:path";
import { expect, it } from "vitest";
import { UNANSWERED_MS } from "../../scripts/local-runtime/watchdog";
import { registrySuite, ROOT, type RegistryServer } from "./registry-server";

let server: RegistryServer;
registrySuite(
  async () => ({ protocol: "http", config: join(ROOT, "test/e2e/spin-worker/wrangler.toml") }),
  (started) => {
    server = started;
  },
);

const answer = (path: string, ms: number) =>
  fetch(`${server.url}${path}`, { signal: AbortSignal.timeout(ms) }).then(
    async (r) => `${r.status} ${await r.text()}`,
    (error: Error) => error.name,
  );

it(
  "restarts a workerd that stopped answering while it spins, and answers again",
  async () => {
    expect(await answer("/hello", 10_000)).toBe("200 ok");
    const spinning = answer("/spin", 5 * UNANSWERED_MS);
    expect(await answer("/hello", 3_000), "workerd's one thread is taken").toBe("TimeoutError");
    let after = "";
    const deadline = Date.now() + 4 * UNANSWERED_MS;
    while (Date.now() < deadline && after !== "200 ok") after = await answer("/hello", 5_000);
    expect(after, server.log().slice(-2000)).toBe("200 ok");
    expect(await spinning, "the request in flight is cut, not answered").not.toMatch(/^200/);
    expect(server.log()).toContain("workerd answered nothing for 60 s");
    expect(server.log()).toContain("local runtime: workerd restarted");
  },
  8 * UNANSWERED_MS,
);
