/**
 * The upstream seam (docs/upstreams.md). An upstream kind is one folder that exports one
 * `UpstreamKind` descriptor, listed once in registry.ts. The descriptor owns everything
 * kind-specific: its config schema and start-up rules, its return routes, and the
 * `Upstream` it creates per tenant. Nothing outside the folder branches on the kind.
 */
import type { Logger } from 'pino';
import type { z } from 'zod';
import type { Identity } from '../tokens/claims.js';
import type { Store, Transaction } from '../store/types.js';
import type { KeyRing } from '../tokens/keys.js';
import type { Answer, RequestOptions } from './http.js';
import type { CircuitGate } from './breaker.js';

export interface UpstreamDeps {
  publicUrl: string;
  now: () => number;
  keys: KeyRing;
  /** Where a kind keeps files it generates (the SAML SP key and certificate). */
  keysDir: string;
  log: Logger;
  /** For what must hold across instances: one-time assertion ids, request ids. */
  store: Store;
  /** The shared, bounded HTTP client (deadline, size cap, branded 502/504). */
  http: (url: string, options: RequestOptions, timeoutMs: number) => Promise<Answer>;
  /** The circuit of each IdP origin (src/upstreams/breaker.ts): begin() asks it before sending a person there. */
  circuits?: CircuitGate;
}

export type Begin =
  /** Send the window to the IdP; `keep` is saved on the transaction (nonce, PKCE verifier, request id...). */
  | { kind: 'redirect'; url: string; keep?: Record<string, string> }
  /** An auto-submitting form to the IdP; its origin is allowed in that page's CSP form-action. */
  | { kind: 'post'; url: string; fields: Record<string, string>; keep?: Record<string, string> }
  /** Fedbridge's own password page; `prompt` says what the user name looks like. */
  | { kind: 'password'; prompt: 'email' | 'username' };

/** What the IdP sent to a return route. `tenantId` is the route's `:tenant`, when it has one. */
export interface Returned {
  method: 'GET' | 'POST';
  params: Record<string, string>;
  tenantId?: string;
}

export interface Upstream {
  readonly kind: string;
  readonly id: string;
  begin(tx: Transaction): Promise<Begin>;
  /** The password page's answer: the identity, or null for wrong credentials (the page asks again). */
  password?(cred: { username: string; password: string }, tx: Transaction): Promise<Identity | null>;
  /** The name the per-user password budget counts, when one account has several spellings (default: the name as typed). */
  accountKey?(username: string): string;
  /**
   * Validates what the IdP sent back. Throws FedbridgeError on refusal. The identity's `amr`
   * already says `mfa` when the IdP reported it: policy has no per-kind branch.
   */
  complete?(tx: Transaction, returned: Returned): Promise<Identity>;
  /** Metadata this side publishes (SAML SP metadata). */
  metadata?(): Promise<{ contentType: string; body: string }>;
  close?(): void;
}

/** A route where the IdP comes back. */
export interface ReturnRoute {
  /** A Koa path; `:tenant` binds the answer to that tenant's transactions. */
  path: string;
  methods: Array<'GET' | 'POST'>;
  /** The parameter that carries our transaction key (`state`, `RelayState`, `wctx`). */
  stateParam: string;
  /** Largest accepted body; IdP answers can be 100+ KiB. */
  maxBodyBytes: number;
}

/** A start-up problem, with its path below `tenants[i]` (`idp.clientSecret`, `policy.requireMfa`). */
export interface KindProblem {
  path: string;
  message: string;
}

/** What a kind's rules may look at besides its own config (parts may have failed validation). */
export interface TenantView {
  id?: string;
  domains?: string[];
  policy?: Partial<TenantBasics['policy']>;
}

/**
 * The tenant as an upstream sees it. Written out rather than derived from the config schema,
 * which composes the kinds' schemas (a derived type would be circular).
 */
export interface TenantBasics {
  id: string;
  displayName: string;
  domains: string[];
  policy: {
    requireMfa: boolean;
    allowedGroups: string[];
    requireHintMatch: boolean;
    requireInvitation: boolean;
    allowForeignDomains: boolean;
  };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export interface UpstreamKind<S extends z.ZodObject<any> = z.ZodObject<any>> {
  readonly kind: string;
  /** A strict z.object with `kind: z.literal(<kind>)`; composed into the tenant schema. */
  readonly schema: S;
  /** Rules that span keys, run by `config check` and at start-up. */
  rules?(cfg: z.infer<S>, tenant: TenantView): KindProblem[];
  readonly returnRoutes?: readonly ReturnRoute[];
  /** Where `metadata()` is published (a Koa path with `:tenant`). */
  readonly metadataRoute?: string;
  create(tenant: TenantBasics, cfg: z.infer<S>, deps: UpstreamDeps): Upstream;
}

/** Keeps the schema's literal type when a folder declares its descriptor. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function defineKind<S extends z.ZodObject<any>>(kind: UpstreamKind<S>): UpstreamKind<S> {
  return kind;
}
