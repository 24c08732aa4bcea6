// `npm start`: the registry on http://127.0.0.1:8787 through the local runtime
// (scripts/local-runtime/runtime.ts), with R2 and KV persisted under .wrangler/state. On first run it writes
// .dev.vars with a random JWT_STATE_SECRET and local credentials. The e2e harness starts the
// registry through this same command, with --no-dev-vars, --state and --json. Options are
// checked in scripts/local-runtime/dev-options.ts, before anything boots.
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join, relative } from "node:path";
import { credentialWarnings, isLoopback, parseDevOptions, USAGE, UsageError } from "./dev-options";
import { directorySize, ROOT, startRuntime } from "./runtime";

/** `NAME=value` lines; `#` starts a comment line; surrounding quotes are dropped. */
function parseDevVars(text: string): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const match = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line);
    if (!match || line.trimStart().startsWith("#")) continue;
    vars[match[1]!] = match[2]!.replace(/^(["'])(.*)\1$/, "$2");
  }
  return vars;
}

/** Reads .dev.vars, writing it first (mode 600, git-ignored) with fresh local secrets. */
function devVars(): Record<string, string> {
  const path = join(ROOT, ".dev.vars");
  if (!existsSync(path)) {
    const password = randomBytes(12).toString("base64url");
    const lines = [
      "# Local secrets for `npm start` (git-ignored).",
      `JWT_STATE_SECRET=${randomBytes(32).toString("hex")}`,
      "USERNAME=admin",
      `PASSWORD=${password}`,
      "",
    ];
    writeFileSync(path, lines.join("\n"), { mode: 0o600 });
    console.log(`Created .dev.vars with local credentials: admin / ${password}`);
  }
  return parseDevVars(readFileSync(path, "utf8"));
}

function mebibytes(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/** Fails before the boot when the address is taken or not this machine's: booting the Worker
 *  takes seconds, and its output would bury the message. */
function checkAddressFree(host: string, port: number): Promise<void> {
  return new Promise((resolveFree, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(port, host, () => probe.close(() => resolveFree()));
  });
}

async function main(): Promise<void> {
  const options = parseDevOptions(process.argv.slice(2));
  if (options.help) return void process.stdout.write(USAGE);
  if (options.port !== 0) await checkAddressFree(options.host, options.port);
  const vars = options.devVars ? devVars() : {};
  Object.assign(vars, options.vars);
  if (!isLoopback(options.host)) {
    for (const warning of credentialWarnings(vars))
      process.stderr.write(`warning: listening on ${options.host}, reachable from other machines, and ${warning}\n`);
  }
  const stateDir = options.stateDir ?? join(ROOT, ".wrangler/state");
  const runtime = await startRuntime({
    host: options.host,
    port: options.port,
    stateDir,
    vars,
    config: options.config,
    https: options.https,
    inspectorPort: options.inspectorPort,
    cronPort: options.cronPort,
    bodyStreams: options.bodyStreams,
    storageHost: options.storageHost,
    logOptions: { format: options.logFormat, requests: !options.quiet },
  });
  if (options.jsonReady) {
    console.log(
      JSON.stringify({
        url: runtime.url,
        port: runtime.port,
        stateDir: runtime.stateDir,
        inspectorPort: runtime.inspectorPort,
        cronUrl: runtime.cronUrl,
        storageHostUrl: runtime.storageHostUrl,
      }),
    );
  } else {
    const near = relative(process.cwd(), runtime.stateDir);
    const shown = near.startsWith("..") ? runtime.stateDir : near || ".";
    const credentials = options.devVars ? "credentials in .dev.vars" : "credentials from --var";
    console.log(`Registry: ${runtime.url}  (docker login ${runtime.host}:${runtime.port}; ${credentials})`);
    if (!isLoopback(options.host))
      console.log(`Listening on ${options.host}: other machines use this one's address and port ${runtime.port}.`);
    console.log(`Cron: curl ${runtime.cronUrl}  (fires the scheduled handler; this machine only)`);
    if (runtime.storageHostUrl)
      console.log(`Storage host: ${runtime.storageHostUrl}  (blob redirects; this machine only)`);
    console.log(`State: ${shown} (${mebibytes(directorySize(runtime.stateDir))}); stop and delete it to start empty.`);
  }
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => void runtime.stop().then(() => process.exit(0)));
  }
}

main().catch((error: unknown) => {
  if (error instanceof UsageError) {
    process.stderr.write(`${error.message}\n${USAGE}`);
    process.exit(2);
  }
  const code = (error as { code?: string }).code;
  if (code === "EADDRINUSE") {
    process.stderr.write(
      `${(error as Error).message}: another process uses that port; pick one with --port or PORT=.\n`,
    );
    process.exit(1);
  }
  if (code === "EADDRNOTAVAIL") {
    process.stderr.write(`${(error as Error).message}: no interface of this machine has that address (--host).\n`);
    process.exit(1);
  }
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
