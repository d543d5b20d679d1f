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
 * delays a returning user by about one hash, not by the whole queue. Someone who may use that
 * lane (signed in before from an address, alone or behind an office's NAT) must not fill it:
 * at most `maxPriorityPerUser` attempts of one user and `maxPriorityPerNetwork` of one client
 * network wait in it; more of theirs wait in the normal lane (README, "Operating it").
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
  /** Of those, at most this many for one user (default 2); more wait in the normal lane. */
  maxPriorityPerUser?: number;
  /** Of those, at most this many from one client network (default 4); more wait in the normal lane. */
  maxPriorityPerNetwork?: number;
}

/** Whose attempt goes in the priority lane: the per-user budget's key and the client network (src/actions/ratelimit.ts). */
export interface HashPriority {
  user: string;
  network: string;
}

/** Two hashes at most (one on a single core), 32 waiting: the queue drains in well under a second. */
export const DEFAULT_HASH_QUEUE: HashQueueOptions = {
  concurrency: Math.min(2, availableParallelism()),
  maxWaiting: 32,
  maxPriorityWaiting: 16,
  maxPriorityPerUser: 2,
  maxPriorityPerNetwork: 4,
};

const priority = new AsyncLocalStorage<HashPriority>();

/**
 * Runs `fn` with its password hashes in the priority lane, as `who`'s attempt. Without `who`,
 * every such attempt counts as one user at one network (tests).
 */
export function withHashPriority<T>(fn: () => Promise<T>, who: HashPriority = { user: '', network: '' }): Promise<T> {
  return priority.run({ ...who }, fn);
}

/** A job waiting in the priority lane, with whose it is. */
interface Urgent {
  start: () => void;
  who: HashPriority;
}

export class HashQueue {
  private running = 0;
  private readonly waiting: Array<() => void> = [];
  private readonly urgent: Urgent[] = [];
  /** Moving average of one job's duration, for the Retry-After estimate. */
  private avgMs = 50;

  constructor(private opts: HashQueueOptions = DEFAULT_HASH_QUEUE) {
    HashQueue.check(opts);
  }

  private static check(o: HashQueueOptions): void {
    if (!Number.isInteger(o.concurrency) || o.concurrency < 1) throw new Error('hash queue concurrency must be an integer >= 1');
    for (const k of ['maxWaiting', 'maxPriorityWaiting', 'maxPriorityPerUser', 'maxPriorityPerNetwork'] as const) {
      const v = o[k] ?? 0;
      if (!Number.isInteger(v) || v < 0) throw new Error(`hash queue ${k} must be an integer >= 0`);
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
    const who = priority.getStore();
    const urgent = who !== undefined && this.mayWaitFirst(who);
    const bound = urgent ? this.opts.maxPriorityWaiting : this.opts.maxWaiting;
    if (this.running < this.opts.concurrency && this.urgent.length + this.waiting.length === 0) {
      this.running++;
    } else if ((urgent ? this.urgent : this.waiting).length >= bound) {
      throw serviceUnavailable('server_busy', 'the password-hashing queue is full', this.drainSeconds());
    } else if (urgent) {
      await new Promise<void>((start) => this.urgent.push({ start, who })); // pump() counts it as running
    } else {
      await new Promise<void>((start) => this.waiting.push(start));
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

  /** Whether `who` is under both caps of the priority lane (its user's and its network's). */
  private mayWaitFirst(who: HashPriority): boolean {
    const perUser = this.opts.maxPriorityPerUser ?? DEFAULT_HASH_QUEUE.maxPriorityPerUser!;
    const perNetwork = this.opts.maxPriorityPerNetwork ?? DEFAULT_HASH_QUEUE.maxPriorityPerNetwork!;
    let user = 0;
    let network = 0;
    for (const u of this.urgent) {
      if (u.who.user === who.user) user++;
      if (u.who.network === who.network) network++;
    }
    return user < perUser && network < perNetwork;
  }

  /** Starts waiting jobs while slots are free: the priority lane first, each lane oldest first. */
  private pump(): void {
    while (this.running < this.opts.concurrency) {
      const next = this.urgent.shift()?.start ?? this.waiting.shift();
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
