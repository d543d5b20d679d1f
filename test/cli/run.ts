/** Runs `fedbridge ...argv` in-process with captured output (shared by the CLI tests). */
import { Readable } from 'node:stream';
import { main } from '../../src/cli/main.js';
import type { CliIO } from '../../src/cli/io.js';

export interface Run {
  code: number;
  out: string;
  err: string;
}

/** stdin is the given text (not a terminal unless tty); env is exactly the given one. */
export async function run(argv: string[], opts: { env?: Record<string, string>; stdin?: string; tty?: boolean; cwd?: string } = {}): Promise<Run> {
  let out = '';
  let err = '';
  const stdin = Readable.from(opts.stdin === undefined ? [] : [Buffer.from(opts.stdin)]) as Readable & { isTTY?: boolean };
  if (opts.tty) stdin.isTTY = true;
  const io: CliIO = { stdout: (s) => void (out += s), stderr: (s) => void (err += s), stdin, env: opts.env ?? {} };
  const code = await main(argv, io);
  return { code, out, err };
}
