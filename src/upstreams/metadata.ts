/**
 * IdP metadata (federation metadata, SAML IdP metadata) fetched through the shared HTTP
 * client, parsed, and cached (docs/upstreams.md). A fresh copy is used for `refreshMs`;
 * after that the next sign-in fetches again, and if the IdP is unreachable the last good
 * copy serves for up to `maxStaleMs` (certificates roll over over weeks, not minutes).
 * `refresh()` forces a fetch (an unknown signing key may mean a rollover) at most once per
 * `minRefreshMs`, so forged answers cannot make us hammer the IdP.
 */
import type { Logger } from 'pino';
import { FedbridgeError } from '../errors.js';
import type { UpstreamDeps } from './types.js';

export interface MetadataTiming {
  refreshMs: number;
  maxStaleMs: number;
  minRefreshMs: number;
}

export const DEFAULT_METADATA_TIMING: MetadataTiming = { refreshMs: 60 * 60_000, maxStaleMs: 24 * 60 * 60_000, minRefreshMs: 60_000 };

export class MetadataSource<T> {
  private current: { value: T; at: number } | null = null;
  private pending: Promise<T> | null = null;
  private lastAttempt = -Infinity;

  constructor(
    private readonly load: () => Promise<T>,
    private readonly now: () => number,
    private readonly log: Logger,
    private readonly timing: MetadataTiming = DEFAULT_METADATA_TIMING,
  ) {}

  /** The cached metadata, fetched when missing or older than refreshMs. */
  async get(): Promise<T> {
    const c = this.current;
    if (c && this.now() - c.at < this.timing.refreshMs) return c.value;
    return this.fetch();
  }

  /** Fetches again unless the last attempt was under minRefreshMs ago; true when it did. */
  async refresh(): Promise<boolean> {
    if (this.now() - this.lastAttempt < this.timing.minRefreshMs) return false;
    await this.fetch();
    return true;
  }

  /**
   * Runs `check` with the current metadata; when it fails with `assertion_invalid_signature`
   * (a key we do not know yet: the IdP may have rolled its certificate over), fetches the
   * metadata again (at most once per minRefreshMs) and runs it once more. `toError` turns
   * what `check` throws into our error tree first.
   */
  async withRollover<R>(check: (md: T) => Promise<R>, toError: (err: unknown) => unknown = (e) => e): Promise<R> {
    try {
      return await check(await this.get());
    } catch (raw) {
      const err = toError(raw);
      if ((err as { code?: string }).code !== 'assertion_invalid_signature' || !(await this.refresh())) throw err;
    }
    try {
      return await check(await this.get());
    } catch (raw) {
      throw toError(raw);
    }
  }

  /** When the copy in use was fetched (epoch ms), for health checks; null before the first. */
  fetchedAt(): number | null {
    return this.current?.at ?? null;
  }

  private fetch(): Promise<T> {
    // One fetch at a time: concurrent sign-ins share it.
    this.pending ??= this.doFetch().finally(() => {
      this.pending = null;
    });
    return this.pending;
  }

  private async doFetch(): Promise<T> {
    this.lastAttempt = this.now();
    try {
      const value = await this.load();
      this.current = { value, at: this.now() };
      return value;
    } catch (err) {
      const c = this.current;
      if (c && this.now() - c.at < this.timing.maxStaleMs) {
        this.log.warn({ code: (err as FedbridgeError).code, ageMs: this.now() - c.at }, 'metadata refresh failed; using the last good copy');
        return c.value;
      }
      throw err;
    }
  }
}

/** GETs a metadata document through the shared client; anything but a 200 is the IdP's fault (502). */
export async function fetchMetadataText(deps: UpstreamDeps, url: string, timeoutMs: number): Promise<string> {
  const answer = await deps.http(url, { method: 'GET', headers: { accept: 'application/samlmetadata+xml, application/xml, text/xml' } }, timeoutMs);
  if (answer.status !== 200 || !answer.body) {
    throw new FedbridgeError(502, 'upstream_error', `metadata ${new URL(url).origin}${new URL(url).pathname} answered ${answer.status}`);
  }
  return Buffer.from(answer.body).toString('utf8');
}
