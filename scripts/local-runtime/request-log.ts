// What the local runtime prints of the Worker's output. The Worker writes one usage line per
// API and UI request (`request {...}`, src/app.ts); that is the one line per request shown,
// in text or JSON, or not at all with --quiet. Miniflare's own request lines are turned off
// (runtime.ts): they repeated each request, and missed those with a body.

export type LogFormat = "text" | "json";
export const LOG_FORMATS: readonly LogFormat[] = ["text", "json"];

export interface LogOptions {
  format: LogFormat;
  /** false: no request lines (--quiet); everything else the Worker prints still shows. */
  requests: boolean;
}

/** The path the runtime polls until the Worker answers; its request lines are never shown, so
 *  the ready banner is not lost among them. No client asks for it: `_` cannot start a name. */
export const READY_PROBE_PATH = "/v2/_runtime_ready";

/** A partial line longer than this is written as it is: the Worker never logs lines this
 *  long, and the buffer must not grow with a runaway one. */
const MAX_PENDING_CHARS = 64 * 1024;

const USAGE_PREFIX = "request ";

interface UsageLine {
  method: string;
  path: string;
  status: number;
  ms: number;
  r2ClassA?: number;
  r2ClassB?: number;
  r2Free?: number;
  kvReads?: number;
  kvWrites?: number;
}

function parseUsage(line: string): UsageLine | null {
  if (!line.startsWith(USAGE_PREFIX)) return null;
  try {
    const usage = JSON.parse(line.slice(USAGE_PREFIX.length)) as UsageLine;
    return typeof usage.method === "string" && typeof usage.path === "string" ? usage : null;
  } catch {
    return null;
  }
}

/** "GET /v2/a/manifests/1 200 12ms  r2 A0 B1 free0  kv r0 w0": the request first, so
 *  `grep "PUT /v2/"` finds it, then what it cost in storage operations. */
function textLine(u: UsageLine): string {
  const r2 = `r2 A${u.r2ClassA ?? 0} B${u.r2ClassB ?? 0} free${u.r2Free ?? 0}`;
  return `${u.method} ${u.path} ${u.status} ${u.ms}ms  ${r2}  kv r${u.kvReads ?? 0} w${u.kvWrites ?? 0}`;
}

/** One finished line of Worker or runtime output, formatted; null when it is not shown. */
export function formatLine(line: string, options: LogOptions): string | null {
  const usage = parseUsage(line);
  if (usage) {
    if (!options.requests || usage.path === READY_PROBE_PATH) return null;
    return options.format === "json" ? JSON.stringify({ type: "request", ...usage }) : textLine(usage);
  }
  if (line.trim() === "") return null;
  return options.format === "json" ? JSON.stringify({ type: "log", message: line }) : line;
}

/** A writer for a stream of output chunks: splits them into lines and writes each one shown. */
export function lineWriter(write: (line: string) => void, options: LogOptions): (chunk: string) => void {
  let pending = "";
  return (chunk: string) => {
    pending += chunk;
    const lines = pending.split("\n");
    pending = lines.pop() ?? "";
    if (pending.length > MAX_PENDING_CHARS) {
      lines.push(pending);
      pending = "";
    }
    for (const line of lines) {
      const shown = formatLine(line.replace(/\r$/, ""), options);
      if (shown !== null) write(`${shown}\n`);
    }
  };
}
