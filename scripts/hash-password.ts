// Hashes a password for AUTH_USERS_JSON: PBKDF2-SHA256 at 100,000 iterations (the most
// Workers' WebCrypto runs), through the same code the registry verifies with.
//   npm run hash-password              prompts (input hidden) or reads one line from stdin
//   npm run hash-password -- --iterations 20000
// The password is never taken as an argument, so it stays out of shell history and `ps`.
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { hashPassword, PBKDF2_MAX_ITERATIONS } from "../src/util/password-hash";

async function readPassword(): Promise<string> {
  const tty = process.stdin.isTTY;
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: tty });
  if (tty) {
    process.stderr.write("password: ");
    // Mute the echo: the prompt above is already written.
    (rl as unknown as { _writeToOutput: (s: string) => void })._writeToOutput = () => {};
  }
  const line = await new Promise<string>((resolve) => rl.once("line", resolve).once("close", () => resolve("")));
  rl.close();
  if (tty) process.stderr.write("\n");
  return line;
}

const USAGE = `usage: npm run hash-password [-- --iterations N]
Reads the password from a hidden prompt, or one line of stdin, and prints its PBKDF2-SHA256
hash for AUTH_USERS_JSON. --iterations: 10000 to ${PBKDF2_MAX_ITERATIONS} (default ${PBKDF2_MAX_ITERATIONS}).
`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      iterations: { type: "string", default: String(PBKDF2_MAX_ITERATIONS) },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) return void process.stdout.write(USAGE);
  const iterations = Number(values.iterations);
  if (!Number.isSafeInteger(iterations) || iterations < 10_000 || iterations > PBKDF2_MAX_ITERATIONS) {
    throw new Error(`--iterations must be between 10000 and ${PBKDF2_MAX_ITERATIONS}`);
  }
  const password = await readPassword();
  if (password === "") throw new Error("empty password");
  console.log(await hashPassword(password, iterations));
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
