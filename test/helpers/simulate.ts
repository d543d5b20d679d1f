/** Runs `fedbridge simulate` in-process with a captured io; returns the exit code and the step lines. */
import { Readable } from 'node:stream';
import { main } from '../../src/cli/main.js';
import type { CliIO } from '../../src/cli/io.js';
import { CLIENT } from './enrollment.js';

export async function simulate(args: string[], env: Record<string, string> = {}): Promise<{ code: number; out: string; lines: string[] }> {
  const out: string[] = [];
  const io: CliIO = {
    stdout: (s) => void out.push(s),
    stderr: (s) => void out.push(s),
    stdin: Readable.from([]),
    env: { FEDBRIDGE_INTROSPECT_ID: CLIENT.id, FEDBRIDGE_INTROSPECT_SECRET: CLIENT.secret, ...env },
  };
  const code = await main(['simulate', ...args], io);
  const text = out.join('');
  return { code, out: text, lines: text.split('\n').filter((l) => /^(PASS|FAIL|SKIP) /.test(l)) };
}

/** The step names of PASS/FAIL/SKIP lines. */
export const stepNames = (lines: string[]) => lines.map((l) => /^(?:PASS|FAIL|SKIP) (.+?) +\d+ ms {2}/.exec(l)?.[1]);
