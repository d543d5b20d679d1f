/**
 * Audit events are queued in memory and written in batches, so the hot paths
 * (finish, /introspect) never wait on audit I/O. flush() on shutdown loses nothing.
 */
import type { Logger } from 'pino';
import type { AuditEvent, Store } from '../store/types.js';

export class AuditQueue {
  private queue: AuditEvent[] = [];
  private timer: NodeJS.Timeout;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: Store,
    private readonly log: Logger,
    private readonly maxBatch = 200,
    intervalMs = 1000,
  ) {
    this.timer = setInterval(() => void this.flush(), intervalMs);
    this.timer.unref();
  }

  push(event: AuditEvent): void {
    this.queue.push(event);
    if (this.queue.length >= this.maxBatch) void this.flush();
  }

  flush(): Promise<void> {
    this.flushing = this.flushing.then(async () => {
      while (this.queue.length) {
        const batch = this.queue.splice(0, this.maxBatch);
        try {
          await this.store.appendAudit(batch);
        } catch (err) {
          this.log.error({ err, lost: batch.length }, 'audit write failed');
        }
      }
    });
    return this.flushing;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }
}
