#!/usr/bin/env node
// `npm start`: a local registry on https://127.0.0.1:8787 with R2 and KV emulated and
// persisted by wrangler under .wrangler/state. On first run it writes .dev.vars with a random
// JWT_STATE_SECRET and local credentials, and prints them.
//
// It serves HTTPS with wrangler's self-signed certificate: docker and skopeo try TLS first on
// 127.0.0.1, and plain `wrangler dev` never answers the handshake, which costs 10 s per
// command. docker skips certificate checks for 127.0.0.0/8, so `docker login 127.0.0.1:8787`
// works at once; skopeo/podman need --tls-verify=false and curl needs -k.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const devVars = join(root, ".dev.vars");
const port = process.env.PORT ?? "8787";

if (!existsSync(devVars)) {
  const password = randomBytes(12).toString("base64url");
  writeFileSync(
    devVars,
    [
      "# Local secrets for `npm start` (wrangler reads this file; it is git-ignored).",
      `JWT_STATE_SECRET=${randomBytes(32).toString("hex")}`,
      "USERNAME=admin",
      `PASSWORD=${password}`,
      "",
    ].join("\n"),
    { mode: 0o600 },
  );
  console.log(`Created .dev.vars with local credentials: admin / ${password}`);
}
console.log(`Registry: https://127.0.0.1:${port}  (docker login 127.0.0.1:${port}; credentials in .dev.vars)`);

const child = spawn(
  "npx",
  ["wrangler", "dev", "--ip", "127.0.0.1", "--port", port, "--local-protocol", "https", "--persist-to", ".wrangler/state", "--test-scheduled", ...process.argv.slice(2)],
  {
    cwd: root,
    stdio: "inherit",
    env: {
      ...process.env,
      WRANGLER_SEND_METRICS: "false",
      WRANGLER_SEND_ERROR_REPORTS: "false",
      WRANGLER_HIDE_BANNER: "true",
      CLOUDFLARE_CF_FETCH_ENABLED: "false",
    },
  },
);
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => child.kill(signal));
child.on("exit", (code) => process.exit(code ?? 0));
