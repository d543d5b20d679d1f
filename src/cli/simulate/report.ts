/** One line per step: PASS/FAIL/SKIP, the step, its time in ms, and what was seen. */
import type { CliIO } from '../io.js';

export type Outcome = 'PASS' | 'FAIL' | 'SKIP';

/** Thrown by a step to end as SKIP instead of PASS. */
export class Skip extends Error {}

/** Ends the run: a step failed (already reported). */
export class RunFailed extends Error {}

export class Report {
  readonly lines: string[] = [];

  constructor(private readonly io: CliIO) {}

  line(outcome: Outcome, name: string, ms: number, detail: string): void {
    const text = `${outcome} ${name.padEnd(18)} ${`${Math.round(ms)} ms`.padStart(8)}  ${detail}`;
    this.lines.push(text);
    this.io.stdout(`${text}\n`);
  }

  /** Runs a step; its return value is the PASS detail (a string) plus the result. */
  async step<T>(name: string, fn: () => Promise<{ detail: string; value: T }>): Promise<T> {
    const start = performance.now();
    try {
      const { detail, value } = await fn();
      this.line('PASS', name, performance.now() - start, detail);
      return value;
    } catch (err) {
      const ms = performance.now() - start;
      if (err instanceof Skip) {
        this.line('SKIP', name, ms, err.message);
        return undefined as T;
      }
      this.line('FAIL', name, ms, describe(err));
      throw new RunFailed(name);
    }
  }
}

/** fetch says only "fetch failed"; the cause (ECONNREFUSED, a timeout...) is what helps. */
function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  if (err.name === 'TimeoutError') return `no answer in time (${err.message})`;
  return cause && (cause.code || cause.message) ? `${err.message}: ${cause.code ?? cause.message}` : err.message;
}
