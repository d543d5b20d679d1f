/** `fedbridge --help | head -1`: a reader that goes away early ends the command quietly (exit 0, no stack trace). */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const BIN = fileURLToPath(new URL('../../bin/fedbridge.js', import.meta.url));

it('a closed stdout pipe (EPIPE) ends the CLI with exit 0 and nothing on stderr', async () => {
  const child = spawn(process.execPath, [BIN, 'keys', 'list', '--help'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  // Read nothing and close our end at once, as `head` does after its first line.
  child.stdout.destroy();
  const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
  expect(err).not.toMatch(/EPIPE|Unhandled/);
  expect(code).toBe(0);
});
