#!/usr/bin/env node
// The `fedbridge` command runs the compiled CLI (built by `npm install` via `prepare`).
//
// libuv sizes its thread pool once, from UV_THREADPOOL_SIZE, when the pool is first used;
// loading an ES module already uses it. So this file is CommonJS (bin/package.json) and
// sets the size before importing anything. Password hashing may take at most 2 threads
// (src/upstreams/local/hashqueue.ts); the other 4, libuv's default pool, stay free for
// token signing and verification, file and DNS work (README, "Limits"). An operator's
// own UV_THREADPOOL_SIZE wins.
// Only syntax valid in both module kinds below (no require, no top-level await).
process.env.UV_THREADPOOL_SIZE ||= '6';

import('../dist/src/cli/main.js')
  .then(({ main }) => main(process.argv.slice(2)))
  .then(
    (code) => {
      process.exitCode = code;
    },
    (err) => {
      process.stderr.write(`fedbridge: ${err?.message ?? err}\n`);
      process.exitCode = 1;
    },
  );
