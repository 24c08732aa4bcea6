// Runs the conformance groups against a registry and returns the report. After each group,
// rules that hold for every response (the API version header, Docker-Content-Digest on
// manifest and blob reads, the error body format) are checked over all of its responses.
import { describe, errorBodyProblem, fail } from "./assert";
import { RegistryClient, type Reply } from "./client";
import type { RunContext } from "./context";
import { cleanUp } from "./cleanup";
import { runDiscovery } from "./discovery";
import { runManagement } from "./management";
import { runMounts } from "./mounts";
import { runPull } from "./pull";
import { runPushBlobs } from "./push-blobs";
import { runPushManifests } from "./push-manifests";
import { runReferrers } from "./referrers";
import { GROUPS, Reporter, type Group, type GroupName } from "./reporter";

export interface RunOptions {
  url: string;
  username?: string;
  password?: string;
  /** Repositories are created under this prefix; a fresh one per run by default. */
  namespace?: string;
  groups?: GroupName[];
  print?: (line: string) => void;
  /** Leave what the run pushed in the registry (by default it is deleted at the end). */
  keep?: boolean;
}

const STEPS: Record<GroupName, ((ctx: RunContext) => Promise<void>)[]> = {
  pull: [runPull],
  push: [runPushBlobs, runMounts, runPushManifests],
  "content discovery": [runDiscovery, runReferrers],
  "content management": [runManagement],
};

function firstProblems(replies: Reply[], problem: (r: Reply) => string | null): string[] {
  const out: string[] = [];
  for (const reply of replies) {
    const p = problem(reply);
    if (p !== null) out.push(p);
  }
  return out;
}

async function checkEveryResponse(group: Group, client: RegistryClient, replies: Reply[]): Promise<void> {
  const own = replies.filter((r) => r.url.origin === client.base.origin);
  const report = (problems: string[]) => {
    if (problems.length > 0) fail(`${problems.length} of ${own.length} responses: ${problems.slice(0, 5).join("; ")}`);
  };
  await group.check("every response carries Docker-Distribution-API-Version: registry/2.0", () =>
    report(
      firstProblems(own, (r) =>
        r.headers.get("Docker-Distribution-API-Version") === "registry/2.0" ? null : describe(r),
      ),
    ),
  );
  await group.check("every successful manifest and blob GET or HEAD carries Docker-Content-Digest", () =>
    report(
      firstProblems(own, (r) => {
        const read =
          (r.method === "GET" || r.method === "HEAD") &&
          /\/(manifests|blobs)\/[^/]+$/.test(r.url.pathname) &&
          !r.url.pathname.includes("/blobs/uploads/");
        return read && (r.status === 200 || r.status === 206) && !r.headers.get("Docker-Content-Digest")
          ? describe(r)
          : null;
      }),
    ),
  );
  await group.check("every 4xx body is the spec's error JSON with codes from its table", () =>
    report(
      firstProblems(own, (r) => {
        if (r.status < 400 || r.status >= 500 || r.method === "HEAD") return null;
        const problem = errorBodyProblem(r);
        return problem ? `${problem} (${r.method} ${r.url.pathname} -> ${r.status})` : null;
      }),
    ),
  );
}

async function reportCleanup(client: RegistryClient, namespace: string, print: (line: string) => void): Promise<void> {
  try {
    const done = await cleanUp(client, namespace);
    print(
      `cleanup: deleted ${done.manifests} manifests and ${done.blobs} blob links in ${done.repositories.length} repositories under ${namespace} (--keep keeps them)`,
    );
    for (const refused of done.refused) print(`cleanup: ${refused}`);
  } catch (error) {
    print(`cleanup failed: ${(error as Error).message}`);
  }
}

export async function runConformance(options: RunOptions): Promise<Reporter> {
  const reporter = new Reporter(options.print);
  const client = new RegistryClient(options.url, { username: options.username, password: options.password });
  const namespace =
    options.namespace ?? `conformance/run-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
  (options.print ?? console.log)(`registry ${client.base.origin}, namespace ${namespace}`);
  for (const name of options.groups ?? GROUPS) {
    const group = reporter.group(name);
    const ctx: RunContext = {
      client,
      group,
      namespace,
      repo: (suffix) => `${namespace}/${suffix}`,
      authenticated: options.username !== undefined,
    };
    const start = client.log.length;
    for (const step of STEPS[name]) {
      try {
        await step(ctx);
      } catch (error) {
        // Thrown outside a check (a network failure): it fails the group, not the run.
        await group.check(`${step.name} ran to the end`, () => Promise.reject(error));
      }
    }
    await checkEveryResponse(group, client, client.log.slice(start));
  }
  if (!options.keep) await reportCleanup(client, namespace, options.print ?? console.log);
  reporter.printSummary();
  return reporter;
}
