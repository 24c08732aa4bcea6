#!/usr/bin/env node
// Runs the TypeScript CLI (cli/main.ts) through tsx, so `npx r2-registry` needs no build step.
import { register } from "tsx/esm/api";

register();
const { main } = await import("../cli/main.ts");
process.exitCode = await main(process.argv.slice(2));
