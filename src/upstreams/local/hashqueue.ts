/**
 * The bounded queue every password hash (scrypt) goes through.
 *
 * scrypt runs on libuv's thread pool, which token signing and verification (WebCrypto),
 * file reads and DNS share. Unbounded, a burst of password guesses fills that pool and
 * stalls /introspect and everyone's sign-in behind it. Here at most `concurrency` hashes
 * run at once and at most `maxWaiting` wait; past that, the attempt is refused at once with
 * 503 `server_busy` and a Retry-After, before any hashing. Signing and verification never
 * enter this queue. bin/fedbridge.js sizes the pool so threads remain for them
 * (README, "Limits").
 *
 * Attempts from a familiar address (src/actions/ratelimit.ts) run inside `withHashPriority`:
 * they wait in a lane of their own that goes first, so a burst of guesses from elsewhere
 * delays a returning user by about one hash, not by the whole queue.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { availableParallelism } from 'node:os';
import { serviceUnavailable } from '../../errors.js';

export interface HashQueueOptions {
  /** Hashes running at once (threads of the pool they may take). */
  concurrency: number;
  /** Hashes waiting for a turn; one more is refused with 503. */
  maxWaiting: number;
  /** Hashes waiting in the priority lane (familiar addresses), bounded on their own. */
  maxPriorityWaiting: number;
}

/** Two hashes at most (one on a single core), 32 waiting: the queue drains in well under a second. */
export const DEFAULT_HASH_QUEUE: HashQueueOptions = {
  concurrency: Math.min(2, availableParallelism()),
  maxWaiting: 32,
  maxPriorityWaiting: 16,
};

const priority = new AsyncLocalStorage<boolean>();

/** Runs `fn` with its password hashes in the priority lane. */
export function withHashPriority<T>(fn: () => Promise<T>): Promise<T> {
  return priority.run(true, fn);
}

export class HashQueue {
  private running = 0;
  private readonly waiting: Array<() => void> = [];
  private readonly urgent: Array<() => void> = [];
  /** Moving average of one job's duration, for the Retry-After estimate. */
  private avgMs = 50;

  constructor(private opts: HashQueueOptions = DEFAULT_HASH_QUEUE) {
    HashQueue.check(opts);
  }

  private static check(o: HashQueueOptions): void {
    if (!Number.isInteger(o.concurrency) || o.concurrency < 1) throw new Error('hash queue concurrency must be an integer >= 1');
    for (const k of ['maxWaiting', 'maxPriorityWaiting'] as const) {
      if (!Number.isInteger(o[k]) || o[k] < 0) throw new Error(`hash queue ${k} must be an integer >= 0`);
    }
  }

  /** Changes the bounds (tests, benchmarks); jobs already admitted keep their place. */
  configure(opts: HashQueueOptions): void {
    HashQueue.check(opts);
    this.opts = { ...opts };
    this.pump();
  }

  get options(): HashQueueOptions {
    return { ...this.opts };
  }

  /** Jobs running and waiting (both lanes) right now. */
  get load(): { running: number; waiting: number; priorityWaiting: number } {
    return { running: this.running, waiting: this.waiting.length, priorityWaiting: this.urgent.length };
  }

  /** Runs `job` when a slot is free; throws 503 `server_busy` at once when its wait list is full. */
  async run<T>(job: () => Promise<T>): Promise<T> {
    const lane = priority.getStore() === true ? this.urgent : this.waiting;
    const bound = lane === this.urgent ? this.opts.maxPriorityWaiting : this.opts.maxWaiting;
    if (this.running < this.opts.concurrency && this.urgent.length + this.waiting.length === 0) {
      this.running++;
    } else if (lane.length >= bound) {
      throw serviceUnavailable('server_busy', 'the password-hashing queue is full', this.drainSeconds());
    } else {
      await new Promise<void>((resolve) => lane.push(resolve)); // pump() counts it as running
    }
    const start = performance.now();
    try {
      return await job();
    } finally {
      this.avgMs = 0.8 * this.avgMs + 0.2 * (performance.now() - start);
      this.running--;
      this.pump();
    }
  }

  /** Starts waiting jobs while slots are free: the priority lane first, each lane oldest first. */
  private pump(): void {
    while (this.running < this.opts.concurrency) {
      const next = this.urgent.shift() ?? this.waiting.shift();
      if (!next) return;
      this.running++;
      next();
    }
  }

  /** Roughly when the jobs now admitted will be done, in whole seconds (at least 1). */
  private drainSeconds(): number {
    const jobs = this.running + this.waiting.length + this.urgent.length;
    return Math.max(1, Math.ceil(((jobs / this.opts.concurrency) * this.avgMs) / 1000));
  }
}

/** One queue per process, as there is one thread pool per process. */
export const passwordHashQueue = new HashQueue();
