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
 */
import { availableParallelism } from 'node:os';
import { serviceUnavailable } from '../../errors.js';

export interface HashQueueOptions {
  /** Hashes running at once (threads of the pool they may take). */
  concurrency: number;
  /** Hashes waiting for a turn; one more is refused with 503. */
  maxWaiting: number;
}

/** Two hashes at most (one on a single core), 32 waiting: the queue drains in well under a second. */
export const DEFAULT_HASH_QUEUE: HashQueueOptions = {
  concurrency: Math.min(2, availableParallelism()),
  maxWaiting: 32,
};

export class HashQueue {
  private running = 0;
  private readonly waiting: Array<() => void> = [];
  /** Moving average of one job's duration, for the Retry-After estimate. */
  private avgMs = 50;

  constructor(private opts: HashQueueOptions = DEFAULT_HASH_QUEUE) {
    HashQueue.check(opts);
  }

  private static check(o: HashQueueOptions): void {
    if (!Number.isInteger(o.concurrency) || o.concurrency < 1) throw new Error('hash queue concurrency must be an integer >= 1');
    if (!Number.isInteger(o.maxWaiting) || o.maxWaiting < 0) throw new Error('hash queue maxWaiting must be an integer >= 0');
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

  /** Jobs running and waiting right now. */
  get load(): { running: number; waiting: number } {
    return { running: this.running, waiting: this.waiting.length };
  }

  /** Runs `job` when a slot is free; throws 503 `server_busy` at once when the wait list is full. */
  async run<T>(job: () => Promise<T>): Promise<T> {
    if (this.running < this.opts.concurrency && this.waiting.length === 0) {
      this.running++;
    } else if (this.waiting.length >= this.opts.maxWaiting) {
      throw serviceUnavailable('server_busy', 'the password-hashing queue is full', this.drainSeconds());
    } else {
      await new Promise<void>((resolve) => this.waiting.push(resolve)); // pump() counts it as running
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

  /** Starts waiting jobs, oldest first, while slots are free. */
  private pump(): void {
    while (this.running < this.opts.concurrency && this.waiting.length > 0) {
      this.running++;
      this.waiting.shift()!();
    }
  }

  /** Roughly when the jobs now admitted will be done, in whole seconds (at least 1). */
  private drainSeconds(): number {
    const jobs = this.running + this.waiting.length;
    return Math.max(1, Math.ceil(((jobs / this.opts.concurrency) * this.avgMs) / 1000));
  }
}

/** One queue per process, as there is one thread pool per process. */
export const passwordHashQueue = new HashQueue();
