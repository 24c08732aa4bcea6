// CLI of the conformance runner:
//   npx tsx conformance/run.ts --url URL [--user U --password P] [--insecure] [--namespace NS] [--group pull ...] [--keep]
// or the variables REGISTRY_URL, REGISTRY_USERNAME, REGISTRY_PASSWORD, REGISTRY_INSECURE=1.
// Exits 1 when any check fails, 2 on bad arguments.
import { parseArgs } from "node:util";
import { GROUPS, type GroupName } from "./reporter";
import { runConformance } from "./runner";

const USAGE = `usage: npm run conformance -- --url URL [--user U --password P] [--insecure] [--namespace NS] [--group NAME]... [--keep]
  or the variables REGISTRY_URL, REGISTRY_USERNAME, REGISTRY_PASSWORD, REGISTRY_INSECURE=1.
  groups: ${GROUPS.join(", ")}. Exits 1 when a check fails, 2 on bad arguments.
  At the end the run deletes the manifests and blob links it pushed; --keep leaves them.
`;

function usage(message: string): never {
  process.stderr.write(`${message}\n${USAGE}`);
  process.exit(2);
}

function parse() {
  try {
    return parseArgs({ options: OPTIONS });
  } catch (error) {
    usage((error as Error).message);
  }
}

const OPTIONS = {
  url: { type: "string", default: process.env.REGISTRY_URL },
  user: { type: "string", default: process.env.REGISTRY_USERNAME },
  password: { type: "string", default: process.env.REGISTRY_PASSWORD },
  insecure: { type: "boolean", default: process.env.REGISTRY_INSECURE === "1" },
  namespace: { type: "string" },
  group: { type: "string", multiple: true },
  keep: { type: "boolean", default: false },
  help: { type: "boolean", short: "h" },
} as const;

const { values } = parse();
if (values.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}

if (!values.url) usage("missing --url (or REGISTRY_URL)");
if ((values.user === undefined) !== (values.password === undefined)) usage("--user and --password go together");
const groups = (values.group ?? [...GROUPS]) as GroupName[];
for (const g of groups) if (!GROUPS.includes(g)) usage(`unknown group ${g}; groups: ${GROUPS.join(", ")}`);
// Self-signed certificates are accepted only on request.
if (values.insecure) process.env.NODE_TLS_REJECT_UNAUTHORIZED = "0";

const reporter = await runConformance({
  url: values.url,
  username: values.user,
  password: values.password,
  namespace: values.namespace,
  groups,
  keep: values.keep,
});
process.exit(reporter.failures().length > 0 ? 1 : 0);
