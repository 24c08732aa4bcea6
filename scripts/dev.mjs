#!/usr/bin/env node
// `npm start`: a local registry on http://127.0.0.1:8787 with R2 and KV emulated and
// persisted by wrangler under .wrangler/state. On first run it writes .dev.vars with a random
// JWT_STATE_SECRET and local credentials, and prints them.
//
// docker and skopeo try TLS first on 127.0.0.1, even for an insecure registry, and plain
// `wrangler dev` never answers the TLS handshake, so every command would wait out a 10 s
// timeout. So wrangler listens on an internal port, and this script's front door on 8787
// hangs up at once on a TLS ClientHello (clients then fall back to HTTP immediately) and
// passes every plain-HTTP connection through untouched.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, writeFileSync } from "node:fs";
import { connect, createServer } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const devVars = join(root, ".dev.vars");
const host = "127.0.0.1";
const port = Number(process.env.PORT ?? 8787);
const internalPort = Number(process.env.WRANGLER_PORT ?? port + 10000);
const TLS_HANDSHAKE = 0x16;

if (!existsSync(devVars)) {
  const password = randomBytes(12).toString("base64url");
  const lines = [
    "# Local secrets for `npm start` (wrangler reads this file; it is git-ignored).",
    `JWT_STATE_SECRET=${randomBytes(32).toString("hex")}`,
    "USERNAME=admin",
    `PASSWORD=${password}`,
    "",
  ];
  writeFileSync(devVars, lines.join("\n"), { mode: 0o600 });
  console.log(`Created .dev.vars with local credentials: admin / ${password}`);
}

const wrangler = spawn(
  "npx",
  ["wrangler", "dev", "--ip", host, "--port", String(internalPort), "--persist-to", ".wrangler/state", "--test-scheduled", ...process.argv.slice(2)],
  {
    cwd: root,
    stdio: "inherit",
    // Its own process group, so stopping npm start stops wrangler and both workerd processes.
    detached: true,
    env: {
      ...process.env,
      WRANGLER_SEND_METRICS: "false",
      WRANGLER_SEND_ERROR_REPORTS: "false",
      WRANGLER_HIDE_BANNER: "true",
      CLOUDFLARE_CF_FETCH_ENABLED: "false",
    },
  },
);

const frontDoor = createServer((client) => {
  client.once("data", (first) => {
    if (first[0] === TLS_HANDSHAKE) return void client.destroy();
    // Hold further bytes until the upstream is connected; pipe() resumes the socket.
    client.pause();
    const upstream = connect(internalPort, host, () => {
      upstream.write(first);
      client.pipe(upstream).pipe(client);
    });
    upstream.on("error", () => client.destroy());
    client.on("error", () => upstream.destroy());
  });
  client.on("error", () => client.destroy());
});
frontDoor.listen(port, host, () => {
  console.log(`Registry: http://${host}:${port}  (docker login ${host}:${port}; credentials in .dev.vars)`);
});

function stop(signal) {
  frontDoor.close();
  try {
    process.kill(-wrangler.pid, signal);
  } catch {
    // already gone
  }
}
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => stop(signal));
wrangler.on("exit", (code) => {
  frontDoor.close();
  process.exit(code ?? 0);
});
