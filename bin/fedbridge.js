#!/usr/bin/env node
// The `fedbridge` command runs the compiled CLI (built by `npm install` via `prepare`).
import { main } from '../dist/src/cli/main.js';

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`fedbridge: ${err?.message ?? err}\n`);
    process.exitCode = 1;
  },
);
