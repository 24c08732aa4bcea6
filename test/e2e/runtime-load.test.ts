// The local runtime under mixed load, as a busy `npm start` sees it (bench/mixed.ts): 50
// manifest GETs while 10 docker-style uploads (one streamed PATCH with no length, then the
// closing PUT on the same keep-alive connection) run beside them. Every request must be
// answered, none with a 5xx, and nothing is retried. Through wrangler dev's proxy this drew
// 503 "Your worker restarted mid-request"; straight into a CPU-starved workerd, a GET that
// waited 15 s behind the uploads was dropped (docs/local-runtime.md).
import { expect, it } from "vitest";
import { DEFAULT_MIXED_LOAD, mixedLoad } from "../../bench/mixed";
import { E2E_AUTH, registrySuite, type RegistryServer } from "./registry-server";

let server: RegistryServer;
registrySuite({}, (started) => {
  server = started;
});

it("answers 50 manifest GETs mixed with 10 streamed uploads with no 5xx", async () => {
  const result = await mixedLoad({ url: server.url, auth: E2E_AUTH });
  const log = server
    .log()
    .split("\n")
    .filter((line) => !/\] (GET|PUT|POST|PATCH) /.test(line))
    .join("\n")
    .slice(-4000);
  expect(result.failures, `${result.answered.join(", ")}\nregistry log:\n${log}`).toEqual([]);
  expect(result.uploadStatuses).toEqual(Array(DEFAULT_MIXED_LOAD.uploads).fill(201));
  expect(result.getStatuses).toEqual(Array(DEFAULT_MIXED_LOAD.gets).fill(200));
});
