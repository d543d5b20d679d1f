/**
 * POST /tenants/{id}/idp/test (docs/admin-api.md, IdP test): is the tenant's upstream usable?
 * Reachability of its OIDC discovery document or its SAML / WS-Federation metadata (through the
 * shared bounded client, src/upstreams/http.ts, with the IdP's own deadline), the expiry of the
 * metadata's signing certificates (a warning under 30 days), the IdP's clock from its Date
 * header (a warning over 60 s of skew), and for a `local` IdP that it has users.
 *
 * Everything read here comes from the IdP and is hostile: it is parsed with the same strict
 * readers the sign-in uses, and only bounded, printable facts go into a finding.
 */
import { readFileSync, statSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { z } from 'zod';
import type { AppDeps } from '../../http/deps.js';
import type { IdpConfig } from '../../config/schema.js';
import { checkSecureUrl } from '../../config/urls.js';
import { notFound } from '../../errors.js';
import { fetchAnswer, MAX_BODY_BYTES, type Answer } from '../../upstreams/http.js';
import { discoveryUrl, matchDiscoveredIssuer } from '../../upstreams/oidc/issuer.js';
import { readSamlIdpMetadata, readWsFedMetadata } from '../../upstreams/assertion/metadata.js';
import type { AdminOperation } from './api.js';
import { currentTenant } from './common.js';

export const CERT_WARN_DAYS = 30;
export const SKEW_WARN_SECONDS = 60;
const DAY_MS = 86_400_000;
const DEFAULT_TIMEOUT_MS = 10_000;

export interface Finding {
  check: string;
  ok: boolean;
  detail: string;
  /** Passes, but needs attention soon (a certificate near its end, a skewed clock). */
  warning?: boolean;
}

const finding = z.object({
  check: z.string().describe('discovery, jwks, metadata, endpoint, certificate, clock or users'),
  ok: z.boolean(),
  detail: z.string(),
  warning: z.boolean().optional().describe('passes, but needs attention (a certificate expiring within 30 days, a clock over 60 s off)'),
});

export const idpTestResult = z.object({
  tenant: z.string(),
  kind: z.string(),
  ok: z.boolean().describe('true when no finding failed (warnings allowed)'),
  findings: z.array(finding),
});

/** Text from the IdP, fit for a finding: no control characters, bounded. */
function clean(s: string, max = 200): string {
  // eslint-disable-next-line no-control-regex
  const t = s.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
  return t.length > max ? `${t.slice(0, max)}…` : t;
}

const reason = (err: unknown) => clean((err as Error)?.message ?? String(err), 300);

interface Fetched {
  answer: Answer;
  /** The service clock halfway through the call (for the skew check). */
  at: number;
}

class Probe {
  readonly findings: Finding[] = [];
  constructor(
    private readonly deps: AppDeps,
    private readonly timeoutMs: number,
  ) {}

  add(f: Finding): void {
    this.findings.push(f);
  }

  async get(url: string, accept: string): Promise<Fetched> {
    const t0 = this.deps.clock.now();
    const answer = await fetchAnswer(url, { method: 'GET', headers: { accept } }, this.timeoutMs);
    return { answer, at: t0 + (this.deps.clock.now() - t0) / 2 };
  }

  /** The IdP's clock against ours, from its Date header (1 s resolution). */
  clock(f: Fetched): void {
    const date = f.answer.headers.get('date');
    const theirs = date ? Date.parse(date) : NaN;
    if (!Number.isFinite(theirs)) {
      this.add({ check: 'clock', ok: true, warning: true, detail: 'the IdP sent no usable Date header: its clock cannot be compared' });
      return;
    }
    const skew = Math.round((theirs - f.at) / 1000);
    const off = Math.abs(skew);
    const said = off <= 1 ? 'in step with ours (within 1 s)' : `${off} s ${skew > 0 ? 'ahead of' : 'behind'} ours`;
    this.add({
      check: 'clock',
      ok: true,
      ...(off > SKEW_WARN_SECONDS ? { warning: true } : {}),
      detail: `the IdP's clock is ${said}${off > SKEW_WARN_SECONDS ? ` (over ${SKEW_WARN_SECONDS} s: assertions and tokens may be refused as not yet valid or expired)` : ''}`,
    });
  }

  certificates(certs: string[]): void {
    const now = this.deps.clock.now();
    for (const b64 of certs) {
      let cert: X509Certificate;
      try {
        cert = new X509Certificate(Buffer.from(b64, 'base64'));
      } catch {
        this.add({ check: 'certificate', ok: false, detail: 'a signing certificate cannot be read' });
        continue;
      }
      const name = clean(cert.subject.replace(/\n/g, ', '), 120);
      const from = Date.parse(cert.validFrom);
      const to = Date.parse(cert.validTo);
      const until = Number.isFinite(to) ? new Date(to).toISOString() : 'an unreadable date';
      if (!Number.isFinite(from) || !Number.isFinite(to)) {
        this.add({ check: 'certificate', ok: false, detail: `${name}: validity dates cannot be read` });
      } else if (to <= now) {
        this.add({ check: 'certificate', ok: false, detail: `${name}: expired ${until}` });
      } else if (from > now) {
        this.add({ check: 'certificate', ok: false, detail: `${name}: not valid before ${new Date(from).toISOString()}` });
      } else {
        const days = Math.floor((to - now) / DAY_MS);
        const soon = to - now < CERT_WARN_DAYS * DAY_MS;
        this.add({
          check: 'certificate',
          ok: true,
          ...(soon ? { warning: true } : {}),
          detail: `${name}: valid until ${until} (${days} day${days === 1 ? '' : 's'}${soon ? `, under ${CERT_WARN_DAYS}: roll it over` : ''})`,
        });
      }
    }
  }

  /** Metadata by URL or file; the body as text, or null after a failed finding. */
  async metadata(source: { url?: string; file?: string }): Promise<string | null> {
    if (source.file) {
      try {
        // Bounded like a fetched answer: a regular file of at most MAX_BODY_BYTES.
        const st = statSync(source.file);
        if (!st.isFile() || st.size > MAX_BODY_BYTES) {
          this.add({ check: 'metadata', ok: false, detail: `metadata file is not a regular file of at most ${MAX_BODY_BYTES} bytes` });
          return null;
        }
        return readFileSync(source.file, 'utf8');
      } catch (err) {
        this.add({ check: 'metadata', ok: false, detail: `metadata file cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})` });
        return null;
      }
    }
    if (!source.url) {
      this.add({ check: 'metadata', ok: false, detail: 'no metadataUrl or metadataFile' });
      return null;
    }
    let f: Fetched;
    try {
      f = await this.get(source.url, 'application/samlmetadata+xml, application/xml, text/xml');
    } catch (err) {
      this.add({ check: 'metadata', ok: false, detail: reason(err) });
      return null;
    }
    this.clock(f);
    if (f.answer.status !== 200) {
      this.add({ check: 'metadata', ok: false, detail: `metadata at ${clean(source.url)} answered HTTP ${f.answer.status}` });
      return null;
    }
    return Buffer.from(f.answer.body ?? new Uint8Array()).toString('utf8');
  }
}

async function testOidc(p: Probe, idp: Extract<IdpConfig, { kind: 'oidc' }>): Promise<void> {
  const url = discoveryUrl(idp.issuer).href;
  let f: Fetched;
  try {
    f = await p.get(url, 'application/json');
  } catch (err) {
    return p.add({ check: 'discovery', ok: false, detail: reason(err) });
  }
  p.clock(f);
  if (f.answer.status !== 200) return p.add({ check: 'discovery', ok: false, detail: `${clean(url)} answered HTTP ${f.answer.status}` });
  let doc: Record<string, unknown>;
  try {
    const parsed = JSON.parse(Buffer.from(f.answer.body ?? new Uint8Array()).toString('utf8')) as unknown;
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
    doc = parsed as Record<string, unknown>;
  } catch {
    return p.add({ check: 'discovery', ok: false, detail: `${clean(url)} is not a JSON object` });
  }
  const issuer = typeof doc.issuer === 'string' ? doc.issuer : '';
  if (matchDiscoveredIssuer(idp.issuer, issuer) === undefined) {
    return p.add({ check: 'discovery', ok: false, detail: `the document names issuer ${clean(issuer) || '(none)'}, configured ${clean(idp.issuer)}` });
  }
  for (const key of ['authorization_endpoint', 'token_endpoint', 'jwks_uri']) {
    const v = doc[key];
    const problem = typeof v !== 'string' ? 'is missing' : checkSecureUrl(v);
    if (problem) return p.add({ check: 'discovery', ok: false, detail: `${key} ${clean(problem)}` });
  }
  p.add({ check: 'discovery', ok: true, detail: `${clean(url)} answers; issuer ${clean(issuer)}` });
  const jwksUri = doc.jwks_uri as string;
  try {
    const j = await p.get(jwksUri, 'application/json');
    const keys = j.answer.status === 200 ? (JSON.parse(Buffer.from(j.answer.body ?? new Uint8Array()).toString('utf8')) as { keys?: unknown }).keys : undefined;
    if (!Array.isArray(keys) || keys.length === 0) p.add({ check: 'jwks', ok: false, detail: `${clean(jwksUri)}: HTTP ${j.answer.status}, no keys` });
    else p.add({ check: 'jwks', ok: true, detail: `${clean(jwksUri)}: ${keys.length} key${keys.length === 1 ? '' : 's'}` });
  } catch (err) {
    p.add({ check: 'jwks', ok: false, detail: err instanceof SyntaxError ? `${clean(jwksUri)} is not JSON` : reason(err) });
  }
}

async function testSaml(p: Probe, idp: Extract<IdpConfig, { kind: 'saml' }>): Promise<void> {
  const xml = await p.metadata({ url: idp.metadataUrl, file: idp.metadataFile });
  if (xml === null) return;
  try {
    const md = readSamlIdpMetadata(xml);
    p.add({ check: 'metadata', ok: true, detail: `entity ${clean(md.entityId)}; ${md.signingCertificates.length} signing certificate(s)` });
    p.add(
      md.ssoRedirectUrl
        ? { check: 'endpoint', ok: true, detail: `SingleSignOnService (HTTP-Redirect) ${clean(md.ssoRedirectUrl)}` }
        : { check: 'endpoint', ok: false, detail: 'the metadata has no HTTP-Redirect SingleSignOnService' },
    );
    p.certificates(md.signingCertificates);
  } catch (err) {
    p.add({ check: 'metadata', ok: false, detail: reason(err) });
  }
}

async function testWsfed(p: Probe, idp: Extract<IdpConfig, { kind: 'wsfed' | 'wstrust' }>): Promise<void> {
  const xml = await p.metadata({ url: idp.metadataUrl });
  if (xml === null) return;
  try {
    const md = readWsFedMetadata(xml);
    p.add({ check: 'metadata', ok: true, detail: `entity ${clean(md.entityId)}; ${md.signingCertificates.length} signing certificate(s)` });
    if (idp.kind === 'wsfed') {
      const endpoint = idp.endpoint ?? md.passiveEndpoint;
      p.add(
        endpoint
          ? { check: 'endpoint', ok: true, detail: `passive endpoint ${clean(endpoint)}${idp.endpoint ? ' (configured)' : ''}` }
          : { check: 'endpoint', ok: false, detail: 'no passive endpoint: the metadata names none and none is configured' },
      );
    }
    p.certificates(md.signingCertificates);
  } catch (err) {
    p.add({ check: 'metadata', ok: false, detail: reason(err) });
  }
  if (idp.kind === 'wstrust') {
    // Any HTTP answer proves the STS endpoint is there (AD FS answers a GET with an error page).
    try {
      const f = await p.get(idp.endpoint, 'application/soap+xml, text/xml');
      p.add({ check: 'endpoint', ok: true, detail: `STS endpoint ${clean(idp.endpoint)} answers (HTTP ${f.answer.status} to a GET)` });
    } catch (err) {
      p.add({ check: 'endpoint', ok: false, detail: reason(err) });
    }
  }
}

export async function testIdp(deps: AppDeps, idp: IdpConfig): Promise<Finding[]> {
  const timeoutMs = 'timeoutMs' in idp && typeof idp.timeoutMs === 'number' ? idp.timeoutMs : DEFAULT_TIMEOUT_MS;
  const p = new Probe(deps, timeoutMs);
  switch (idp.kind) {
    case 'oidc':
      await testOidc(p, idp);
      break;
    case 'saml':
      await testSaml(p, idp);
      break;
    case 'wsfed':
    case 'wstrust':
      await testWsfed(p, idp);
      break;
    case 'local': {
      const n = idp.users.length;
      p.add(n > 0 ? { check: 'users', ok: true, detail: `${n} user${n === 1 ? '' : 's'}` } : { check: 'users', ok: false, detail: 'no users' });
      break;
    }
    default:
      p.add({ check: 'kind', ok: false, detail: `no test for kind ${clean(String((idp as { kind: unknown }).kind))}` });
  }
  return p.findings;
}

export const idpTestOperations: AdminOperation[] = [
  {
    operationId: 'testTenantIdp',
    method: 'post',
    path: '/tenants/{id}/idp/test',
    summary: "Check a tenant's upstream IdP: reachable, certificates, clock",
    params: z.object({ id: z.string().min(1).max(64).describe('the tenant id') }).strict(),
    responses: { 200: { description: 'The findings; ok is false when one failed', schema: idpTestResult } },
    async handle(ctx, deps, input) {
      const { id } = input.params as { id: string };
      const tenant = currentTenant(deps, id);
      if (!tenant) throw notFound('unknown_tenant', 'no such tenant');
      const findings = await testIdp(deps, tenant.idp);
      ctx.set('Cache-Control', 'no-store');
      ctx.body = { tenant: tenant.id, kind: tenant.idp.kind, ok: findings.every((f) => f.ok), findings };
    },
  },
];
