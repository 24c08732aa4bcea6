// `npm run deploy:check`: what a production deploy still lacks, said before `wrangler deploy`
// fails or deploys a registry that refuses everyone. It reads the production environment of
// wrangler.toml and the secrets wrangler lists for it (when logged in; offline it says what to
// check by hand). Exit 1 when something required is missing; advice alone does not fail.
import { execFile, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { parseArgs, promisify } from "node:util";
import { parse as parseToml } from "smol-toml";
import { checkEnvironment, type Environment } from "./deploy-findings";

/** A wrangler secret list can hang on a slow network; the check gives up after this long. */
const SECRET_LIST_TIMEOUT_MS = 30_000;
const ANSI_COLOUR = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, "g");

const USAGE = `usage: npm run deploy:check [-- options]
  --config FILE   the wrangler config (default: wrangler.toml)
  --env NAME      its environment to check (default: production)
  --no-secrets    do not ask wrangler for the secret list (offline)
  --help          this text
Then, when nothing is missing, it bundles as the deploy will (wrangler deploy --dry-run).
`;

/** The secret names wrangler knows of, or why it could not say (not logged in, offline). */
async function listSecrets(config: string, envName: string): Promise<string[] | string> {
  try {
    const { stdout } = await promisify(execFile)(
      "npx",
      ["wrangler", "secret", "list", "--config", config, "--env", envName, "--format", "json"],
      { timeout: SECRET_LIST_TIMEOUT_MS, env: { ...process.env, WRANGLER_SEND_METRICS: "false" } },
    );
    const names = (JSON.parse(stdout) as { name: string }[]).map((s) => s.name);
    return names;
  } catch (error) {
    const { stderr = "", stdout = "", message } = error as { stderr?: string; stdout?: string; message: string };
    const said = `${stderr}\n${stdout}`.split("\n").find((line) => /\w/.test(line) && !/^\s*[⛅─]/.test(line));
    // wrangler colours its errors whatever the terminal; the codes would garble the sentence.
    return (said ?? message)
      .replace(ANSI_COLOUR, "")
      .replace(/^\W*\[ERROR\]\s*/, "")
      .trim();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      config: { type: "string" },
      env: { type: "string" },
      "no-secrets": { type: "boolean" },
      help: { type: "boolean" },
    },
  });
  if (values.help) return void process.stdout.write(USAGE);
  const config = resolve(values.config ?? "wrangler.toml");
  const envName = values.env ?? "production";
  const parsed = parseToml(readFileSync(config, "utf8")) as { env?: Record<string, Environment> };
  const env = parsed.env?.[envName];
  if (!env) {
    process.stderr.write(`${config} has no [env.${envName}]\n`);
    process.exit(1);
  }
  let secrets: string[] | null = null;
  if (!values["no-secrets"]) {
    const listed = await listSecrets(config, envName);
    if (typeof listed === "string") console.log(`Could not list the secrets (${listed}).`);
    else secrets = listed;
  }
  const { missing, advice } = checkEnvironment(env, envName, secrets);
  for (const line of advice) console.log(`note: ${line}`);
  for (const line of missing) console.log(`missing: ${line}`);
  if (missing.length > 0) {
    console.log(`${missing.length} thing(s) missing in ${config} [env.${envName}]: fix them, then deploy.`);
    process.exit(1);
  }
  console.log(`Nothing missing in [env.${envName}] of ${config}. Bundling as the deploy will:`);
  // The same dry run CI makes: it catches what only the bundler sees (imports, bindings).
  const bundle = spawnSync(
    "npx",
    ["wrangler", "deploy", "--dry-run", "--config", config, "--env", envName, "--outdir", "dist"],
    { stdio: "inherit" },
  );
  process.exit(bundle.status ?? 1);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
