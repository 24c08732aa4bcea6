#!/usr/bin/env node
// The installed `r2-registry` command (the npm package's bin): runs the compiled CLI.
import { main } from "./main.js";

process.exitCode = await main(process.argv.slice(2));
