// `npm start`'s command line: parsed and checked in full before anything boots, so a typo
// costs no Worker start and its message is the last thing printed.
import { isIP } from "node:net";
import { parseArgs } from "node:util";
import { DEFAULT_BODY_STREAMS } from "./runtime";
import { LOG_FORMATS, type LogFormat } from "./request-log";

export const DEFAULT_HOST = "127.0.0.1";
export const DEFAULT_PORT = 8787;

export const USAGE = `usage: npm start [-- options]
  --host ADDR         address to listen on (default ${DEFAULT_HOST}; 0.0.0.0 for every interface,
                      e.g. to reach it from a VM, a kind cluster or a phone on the LAN)
  --port N            public port (default: $PORT or ${DEFAULT_PORT}; 0 picks a free one)
  --state DIR         where R2 and KV data live (default: .wrangler/state)
  --var NAME=VALUE    a variable or secret for the Worker (repeatable; overrides .dev.vars)
  --var NAME          the same, with the value of environment variable NAME (npm does not
                      echo it: PASSWORD=... npm start -- --var PASSWORD)
  --no-dev-vars       neither read nor create .dev.vars
  --config FILE       another wrangler config (default: wrangler.toml)
  --https             serve https with a self-signed certificate instead of plain http
  --inspector-port N  open the Worker's inspector (Chrome DevTools protocol) on port N
  --cron-port N       loopback port of the cron trigger, whose URL (with a token new at
                      every start) is printed at start (default: a free port)
  --body-streams N    request bodies streamed into the Worker at once; more wait their turn
                      (default ${DEFAULT_BODY_STREAMS}; 0: no limit, every request relayed as it comes)
  --storage-host ADDR:PORT
                      also serve a stand-in for R2's S3 endpoint and a public bucket's domain
                      there (BLOB_REDIRECT, docs/delivery.md), checking every presigned URL
                      with botocore (python3-botocore) before serving it; PORT 0 picks one
  --log-format F      text (default): one line per request; json: one JSON object per line,
                      the ready line included
  --quiet             no request lines; the banner, warnings and errors still show
  --json              print one JSON line when ready (for scripts), instead of the banner
  --help              this text
`;

export class UsageError extends Error {}

export interface DevOptions {
  help: boolean;
  host: string;
  port: number;
  stateDir?: string;
  /** From --var, already resolved (NAME alone reads the environment). */
  vars: Record<string, string>;
  devVars: boolean;
  config?: string;
  https: boolean;
  inspectorPort?: number;
  /** The loopback cron trigger's port (scripts/local-runtime/cron-trigger.ts); undefined: a free one. */
  cronPort?: number;
  /** undefined: the runtime's default; Infinity: no limit. */
  bodyStreams?: number;
  storageHost?: { host: string; port: number };
  logFormat: LogFormat;
  quiet: boolean;
  jsonReady: boolean;
}

/** A whole number in [min, max], or a UsageError naming the option. */
function wholeNumber(option: string, text: string, min: number, max: number): number {
  const value = /^\d+$/.test(text.trim()) ? Number(text) : Number.NaN;
  if (!(Number.isInteger(value) && value >= min && value <= max))
    throw new UsageError(`${option} takes a whole number from ${min} to ${max}, got ${JSON.stringify(text)}`);
  return value;
}

/** A loopback ADDR:PORT: the stand-in serves the bucket to whoever holds a URL, so it never
 *  listens beyond this machine. */
function storageHostAddress(text: string): { host: string; port: number } {
  const at = text.lastIndexOf(":");
  const host = text.slice(0, at);
  if (at < 0 || isIP(host) !== 4 || !isLoopback(host))
    throw new UsageError(
      `--storage-host takes a loopback ADDR:PORT such as 127.0.0.2:9000, got ${JSON.stringify(text)}`,
    );
  return { host, port: wholeNumber("--storage-host", text.slice(at + 1), 0, 65535) };
}

function parseVars(pairs: string[], environment: NodeJS.ProcessEnv): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const pair of pairs) {
    const at = pair.indexOf("=");
    const name = at < 0 ? pair : pair.slice(0, at);
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new UsageError(`--var takes NAME=VALUE or NAME, got ${pair}`);
    if (at >= 0) vars[name] = pair.slice(at + 1);
    else if (environment[name] !== undefined) vars[name] = environment[name];
    else throw new UsageError(`--var ${name}: environment variable ${name} is not set`);
  }
  return vars;
}

/** Parses and checks every option; throws UsageError (exit 2) on the first bad one. */
export function parseDevOptions(argv: string[], environment: NodeJS.ProcessEnv = process.env): DevOptions {
  let values: ReturnType<typeof parse>["values"];
  try {
    values = parse(argv).values;
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const host = values.host ?? DEFAULT_HOST;
  if (host !== "localhost" && isIP(host) === 0)
    throw new UsageError(`--host takes an IP address (or localhost), got ${JSON.stringify(host)}`);
  const portText = values.port ?? environment.PORT;
  const port = portText === undefined ? DEFAULT_PORT : wholeNumber(values.port ? "--port" : "PORT", portText, 0, 65535);
  const logFormat = (values["log-format"] ?? "text") as LogFormat;
  if (!LOG_FORMATS.includes(logFormat))
    throw new UsageError(`--log-format takes ${LOG_FORMATS.join(" or ")}, got ${JSON.stringify(logFormat)}`);
  const bodyStreams =
    values["body-streams"] === undefined ? undefined : wholeNumber("--body-streams", values["body-streams"], 0, 1000);
  return {
    help: values.help ?? false,
    host,
    port,
    stateDir: values.state,
    vars: parseVars(values.var ?? [], environment),
    devVars: !values["no-dev-vars"],
    config: values.config,
    https: values.https ?? false,
    inspectorPort:
      values["inspector-port"] === undefined
        ? undefined
        : wholeNumber("--inspector-port", values["inspector-port"], 1, 65535),
    cronPort: values["cron-port"] === undefined ? undefined : wholeNumber("--cron-port", values["cron-port"], 1, 65535),
    bodyStreams: bodyStreams === 0 ? Number.POSITIVE_INFINITY : bodyStreams,
    storageHost: values["storage-host"] === undefined ? undefined : storageHostAddress(values["storage-host"]),
    logFormat,
    quiet: values.quiet ?? false,
    jsonReady: (values.json ?? false) || logFormat === "json",
  };
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    options: {
      host: { type: "string" },
      port: { type: "string" },
      state: { type: "string" },
      var: { type: "string", multiple: true },
      "no-dev-vars": { type: "boolean" },
      config: { type: "string" },
      https: { type: "boolean" },
      "inspector-port": { type: "string" },
      "cron-port": { type: "string" },
      "body-streams": { type: "string" },
      "storage-host": { type: "string" },
      "log-format": { type: "string" },
      quiet: { type: "boolean" },
      json: { type: "boolean" },
      help: { type: "boolean" },
    },
  });
}

export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\./.test(host);
}

/** Shorter than the password .dev.vars is created with (16 characters of 12 random bytes). */
const STRONG_PASSWORD_CHARS = 16;

/** Why the Worker's credentials are weak for a server others can reach; empty when they are not.
 *  Only the shared logins are judged: JWT keys and AUTH_USERS_JSON hashes are the operator's. */
export function credentialWarnings(vars: Record<string, string>): string[] {
  const warnings: string[] = [];
  const logins = [
    ["USERNAME", "PASSWORD"],
    ["READONLY_USERNAME", "READONLY_PASSWORD"],
  ] as const;
  for (const [user, password] of logins) {
    const value = vars[password];
    if (vars[user] && value !== undefined && value.length < STRONG_PASSWORD_CHARS)
      warnings.push(`${password} has fewer than ${STRONG_PASSWORD_CHARS} characters`);
  }
  const anyCredential = ["PASSWORD", "READONLY_PASSWORD", "JWT_REGISTRY_TOKENS_PUBLIC_KEY", "AUTH_USERS_JSON"].some(
    (name) => vars[name],
  );
  if (!anyCredential) warnings.push("no credentials are set (USERNAME/PASSWORD, AUTH_USERS_JSON, ...)");
  if (vars.ANONYMOUS_PULL) warnings.push(`ANONYMOUS_PULL lets anyone pull ${vars.ANONYMOUS_PULL}`);
  return warnings;
}
