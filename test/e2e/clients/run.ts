// Runs the real client binaries (docker, skopeo, podman, buildah, umoci, ctr) and reports
// their output, so a failing scenario shows what the client said.
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
  /** Wall time in milliseconds, for the suite's timing report. */
  ms: number;
}

export interface RunOptions {
  env?: Record<string, string>;
  cwd?: string;
  input?: string;
  timeoutMs?: number;
}

/** Wall time of every client command this process ran, for the suite's timing summary. */
const timings: { command: string; ms: number }[] = [];

/** The slowest client commands so far, one per line, for a file's afterAll. */
export function slowestCommands(count = 8): string {
  return [...timings]
    .sort((a, b) => b.ms - a.ms)
    .slice(0, count)
    .map((t) => `${(t.ms / 1000).toFixed(1).padStart(7)} s  ${t.command}`)
    .join("\n");
}

/** Runs a command to completion; never throws for a non-zero exit. */
export function run(command: string, args: string[], options: RunOptions = {}): Promise<RunResult> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d.toString()));
    child.stderr.on("data", (d) => (stderr += d.toString()));
    // A hung client must fail its scenario rather than the whole suite's time budget.
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 5 * 60_000);
    child.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      const ms = Date.now() - started;
      timings.push({ command: [command, ...args.filter((a) => !a.startsWith("/tmp/"))].join(" ").slice(0, 140), ms });
      resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr, ms });
    });
    // A child that exits without reading its input (docker with no engine) closes the pipe;
    // the write then fails with EPIPE, which must not become an unhandled error of the run.
    // The child's exit code says what happened.
    child.stdin.on("error", () => {});
    child.stdin.end(options.input ?? "");
  });
}

/** Runs a command and throws, with its output, unless it exits 0. */
export async function runOk(command: string, args: string[], options: RunOptions = {}): Promise<RunResult> {
  const result = await run(command, args, options);
  if (result.code !== 0) {
    throw new Error(
      `${command} ${args.join(" ")} exited ${result.code}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`,
    );
  }
  return result;
}

export async function sha256OfFile(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return `sha256:${hash.digest("hex")}`;
}
