// `npm start`: the registry on http://127.0.0.1:8787 through the local runtime
// (scripts/runtime.ts), with R2 and KV persisted under .wrangler/state. On first run it writes
// .dev.vars with a random JWT_STATE_SECRET and local credentials. The e2e harness starts the
// registry through this same command, with --no-dev-vars, --state and --json.
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { parseArgs } from "node:util";
import { DEFAULT_BODY_STREAMS, directorySize, ROOT, startRuntime } from "./runtime";

const USAGE = `usage: npm start [-- options]
  --port N            public port (default: $PORT or 8787; 0 picks a free one)
  --state DIR         where R2 and KV data live (default: .wrangler/state)
  --var NAME=VALUE    a variable or secret for the Worker (repeatable; overrides .dev.vars)
  --no-dev-vars       neither read nor create .dev.vars
  --config FILE       another wrangler config (default: wrangler.toml)
  --https             serve https with a self-signed certificate instead of plain http
  --inspector-port N  open the Worker's inspector (Chrome DevTools protocol) on port N
  --cron-port N       loopback port of the cron trigger: curl http://127.0.0.1:N/scheduled
                      fires the scheduled handler (default: a free port, printed at start)
  --body-streams N    request bodies streamed into the Worker at once; more wait their turn
                      (default ${DEFAULT_BODY_STREAMS}; 0: no limit, every request relayed as it comes)
  --json              print one JSON line when ready (for scripts), instead of the banner
  --help              this text
`;

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

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: "string" },
      state: { type: "string" },
      var: { type: "string", multiple: true },
      "no-dev-vars": { type: "boolean" },
      config: { type: "string" },
      https: { type: "boolean" },
      "inspector-port": { type: "string" },
      "cron-port": { type: "string" },
      "body-streams": { type: "string" },
      json: { type: "boolean" },
      help: { type: "boolean" },
    },
  });
  if (values.help) return void process.stdout.write(USAGE);
  const vars = values["no-dev-vars"] ? {} : devVars();
  for (const pair of values.var ?? []) {
    const at = pair.indexOf("=");
    if (at < 1) throw new UsageError(`--var takes NAME=VALUE, got ${pair}`);
    vars[pair.slice(0, at)] = pair.slice(at + 1);
  }
  const bodyStreams = values["body-streams"] === undefined ? undefined : Number(values["body-streams"]);
  if (bodyStreams !== undefined && !(Number.isInteger(bodyStreams) && bodyStreams >= 0))
    throw new UsageError(`--body-streams takes a whole number, got ${values["body-streams"]}`);
  const stateDir = values.state ?? join(ROOT, ".wrangler/state");
  const runtime = await startRuntime({
    port: Number(values.port ?? process.env.PORT ?? 8787),
    stateDir,
    vars,
    config: values.config,
    https: values.https,
    inspectorPort: values["inspector-port"] ? Number(values["inspector-port"]) : undefined,
    cronPort: values["cron-port"] ? Number(values["cron-port"]) : undefined,
    bodyStreams: bodyStreams === 0 ? Number.POSITIVE_INFINITY : bodyStreams,
  });
  if (values.json) {
    console.log(
      JSON.stringify({
        url: runtime.url,
        port: runtime.port,
        stateDir: runtime.stateDir,
        inspectorPort: runtime.inspectorPort,
        cronUrl: runtime.cronUrl,
      }),
    );
  } else {
    const near = relative(process.cwd(), runtime.stateDir);
    const shown = near.startsWith("..") ? runtime.stateDir : near || ".";
    const credentials = values["no-dev-vars"] ? "credentials from --var" : "credentials in .dev.vars";
    console.log(`Registry: ${runtime.url}  (docker login ${runtime.host}:${runtime.port}; ${credentials})`);
    console.log(`Cron: curl ${runtime.cronUrl}  (fires the scheduled handler; this machine only)`);
    console.log(`State: ${shown} (${mebibytes(directorySize(runtime.stateDir))}); stop and delete it to start empty.`);
  }
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => void runtime.stop().then(() => process.exit(0)));
  }
}

class UsageError extends Error {}

main().catch((error: unknown) => {
  if (error instanceof UsageError) {
    process.stderr.write(`${error.message}\n${USAGE}`);
    process.exit(2);
  }
  const code = (error as { code?: string }).code;
  if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION" || code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") {
    process.stderr.write(`${(error as Error).message}\n${USAGE}`);
    process.exit(2);
  }
  if (code === "EADDRINUSE") {
    process.stderr.write(
      `${(error as Error).message}: another process uses that port; pick one with --port or PORT=.\n`,
    );
    process.exit(1);
  }
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
