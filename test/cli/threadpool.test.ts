/**
 * Issue #7, finding 6: bin/fedbridge.js sizes libuv's thread pool before anything uses it.
 * Loading an ES module already starts the pool, so the setting only works because the bin is
 * CommonJS (bin/package.json). Checked by counting the process's threads once the pool exists:
 * the bin's default (6) gives exactly 5 more than an operator's UV_THREADPOOL_SIZE=1, which it
 * must respect. A bin that set the size too late would give the default 4, i.e. 3 more.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
let dir: string;

beforeAll(() => {
  // The real bin files, with a stand-in CLI that reports the pool once it has surely started.
  dir = mkdtempSync(join(tmpdir(), 'fedbridge-pool-'));
  mkdirSync(join(dir, 'bin'));
  mkdirSync(join(dir, 'dist', 'src', 'cli'), { recursive: true });
  for (const f of ['fedbridge.js', 'package.json']) copyFileSync(join(ROOT, 'bin', f), join(dir, 'bin', f));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
  writeFileSync(
    join(dir, 'dist', 'src', 'cli', 'main.js'),
    `import { readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
export async function main(args) {
  await readFile(import.meta.filename); // runs on the pool: it exists from here on
  process.stdout.write(JSON.stringify({ args, size: process.env.UV_THREADPOOL_SIZE, threads: readdirSync('/proc/self/task').length }));
  return 7;
}
`,
  );
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function run(env: Record<string, string>) {
  const { stdout } = await promisify(execFile)(process.execPath, [join(dir, 'bin', 'fedbridge.js'), 'serve', '--x'], {
    env: { PATH: process.env.PATH ?? '', ...env },
  }).catch((err: { code: number; stdout: string }) => {
    expect(err.code).toBe(7); // main's answer becomes the exit code
    return err;
  });
  return JSON.parse(stdout) as { args: string[]; size?: string; threads: number };
}

it.runIf(process.platform === 'linux')('sets UV_THREADPOOL_SIZE=6 before the pool starts, and respects an operator\'s own value', async () => {
  const ours = await run({});
  const operator = await run({ UV_THREADPOOL_SIZE: '1' });
  expect(ours.args).toEqual(['serve', '--x']);
  expect(ours.size).toBe('6');
  expect(operator.size).toBe('1');
  expect(ours.threads - operator.threads).toBe(5);
});
