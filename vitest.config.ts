// Two projects: "workers" runs unit and integration tests inside workerd against real local
// R2 and KV; "e2e" runs in Node and drives the local runtime (`npm start`'s, and `wrangler dev`
// for one docker scenario) with real clients and the conformance runner.
import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";
import { startWorkerdWithV8Flags } from "./scripts/local-runtime/workerd-v8-flags-launch";

// The workers pool's workerd, and every workerd the e2e tests start (they inherit this
// process's environment), run with V8's concurrent collector off: without it, the pool's
// workerd hung for good in the middle of test/uploads.test.ts in a CI run on 2026-12-07, as
// the local runtime's had before (docs/local-runtime.md, "A workerd that stops answering").
startWorkerdWithV8Flags();

export const TEST_BINDINGS = {
  USERNAME: "tester",
  PASSWORD: "test-password",
  READONLY_USERNAME: "reader",
  READONLY_PASSWORD: "reader-password",
  JWT_STATE_SECRET: "test-state-secret-0123456789abcdef",
  // The smallest part local R2 accepts (it enforces production's 5 MiB minimum at completion).
  UPLOAD_PART_SIZE: "5242880",
  UPLOAD_CHUNK_MIN_BYTES: "1",
};

export default defineConfig({
  test: {
    projects: [
      {
        plugins: [
          cloudflareTest({
            wrangler: { configPath: "./wrangler.toml" },
            // A public bucket for BLOB_REDIRECT=public's tests, under a name of its own so no
            // other test runs with one (test/blob-delivery.test.ts binds it as PUBLIC_BLOBS).
            miniflare: { bindings: TEST_BINDINGS, r2Buckets: ["TEST_PUBLIC_BLOBS"] },
          }),
        ],
        test: {
          name: "workers",
          include: ["test/*.test.ts"],
          testTimeout: 60_000,
          // Reads ../shared/fixtures/regclient-testrepo in Node and provide()s it to the tests;
          // serves a small upstream registry on 127.0.0.1 for the pull-through tests.
          globalSetup: ["test/setup/regclient-fixture.ts", "test/setup/fake-upstream.ts"],
          setupFiles: ["test/setup/isolate-memory.ts"],
        },
      },
      {
        test: {
          name: "e2e",
          include: ["test/e2e/**/*.test.ts"],
          environment: "node",
          // The https runs (wrangler dev in auth-docker, `--https`) use self-signed certificates.
          env: { NODE_TLS_REJECT_UNAUTHORIZED: "0" },
          testTimeout: 15 * 60_000,
          hookTimeout: 5 * 60_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
