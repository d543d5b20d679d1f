/**
 * The one small interface every upstream IdP kind implements (one folder per kind),
 * with optional capabilities, in the spirit of Dex's connectors:
 *  - `password`: the page takes the password itself (local, wstrust);
 *  - `complete`: the IdP comes back to a callback route (oidc, saml, wsfed).
 */
import type { Logger } from 'pino';
import type { TenantConfig } from '../config/schema.js';
import type { Identity } from '../tokens/claims.js';
import type { Transaction } from '../store/types.js';
import type { KeyRing } from '../tokens/keys.js';

export interface UpstreamDeps {
  publicUrl: string;
  now: () => number;
  keys: KeyRing;
  log: Logger;
}

export type BeginResult =
  /** Send the window to the IdP; `upstream` is saved on the transaction (nonce, PKCE verifier...). */
  | { kind: 'redirect'; url: string; upstream: Record<string, string> }
  /** Show the password page. */
  | { kind: 'password' };

export interface Upstream {
  readonly kind: string;
  readonly id: string;
  begin(tx: Transaction): Promise<BeginResult>;
  /** Returns the identity, or null for wrong credentials (the page asks again). */
  password?(username: string, password: string): Promise<Identity | null>;
  /** Validates what the IdP sent back to the callback route. Throws FedbridgeError on refusal. */
  complete?(tx: Transaction, params: Record<string, string>): Promise<Identity>;
  close?(): void;
}

export type UpstreamFactory = (tenant: TenantConfig, deps: UpstreamDeps) => Upstream;
