/**
 * Configuration warnings (issue #7, finding 2): what a valid file allows but an operator
 * should know. `config check` prints each with its path on stderr and still exits 0.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { loadConfig } from '../../src/config/load.js';
import { upstreamKinds } from '../../src/upstreams/registry.js';
import { hashPasswordSync } from '../../src/upstreams/local/password.js';
import { main } from '../../src/cli/main.js';
import type { CliIO } from '../../src/cli/io.js';

const HASH = hashPasswordSync('pw');
const localIdp = (...upns: string[]) => ({ kind: 'local', users: upns.map((upn) => ({ upn, passwordHash: HASH })) });
const tenant = (id: string, domains: string[], idp: Record<string, unknown>, policy: Record<string, unknown> = {}) => ({
  id,
  displayName: id,
  domains,
  policy,
  idp,
});

let dir: string;
let n = 0;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'fedbridge-warn-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(tenants: unknown[]): string {
  const path = join(dir, `c${++n}.yaml`);
  writeFileSync(path, stringify({ server: { publicUrl: 'https://auth.example.com' }, tenants }));
  return path;
}

const warnings = (tenants: unknown[]) => loadConfig(file(tenants), {}, { kinds: upstreamKinds }).warnings;

describe('configuration warnings', () => {
  it('a clean configuration and demo mode have none', () => {
    expect(warnings([tenant('contoso', ['contoso.com'], localIdp('ann@contoso.com', 'Ben@CONTOSO.com.'))])).toEqual([]);
    expect(loadConfig(undefined, { FEDBRIDGE_DATA: dir, FEDBRIDGE_KEYS: dir }, { kinds: upstreamKinds }).warnings).toEqual([]);
  });

  it('policy.allowForeignDomains is named with its path', () => {
    const w = warnings([
      tenant('contoso', ['contoso.com'], localIdp('ann@contoso.com')),
      tenant('guests', ['guests.com'], localIdp('host@guests.com'), { allowForeignDomains: true }),
    ]);
    expect(w).toEqual([
      'tenants[1].policy.allowForeignDomains: tenant guests signs in users of any domain, not only guests.com; its tokens may name users of other organizations (docs/configuration.md)',
    ]);
  });

  it('a local user outside the tenant\'s domains is flagged: unknown domain, another tenant\'s domain, no domain', () => {
    const w = warnings([
      tenant('contoso', ['contoso.com'], localIdp('ann@contoso.com')),
      tenant('fabrikam', ['fabrikam.com'], localIdp('fred@fabrikam.com', 'ann@contoso.com', 'eve@elsewhere.org', 'admin')),
    ]);
    expect(w).toEqual([
      'tenants[1].idp.users[1].upn: contoso.com belongs to tenant contoso; this user cannot sign in (policy.allowForeignDomains is off)',
      "tenants[1].idp.users[2].upn: elsewhere.org is not one of the tenant's domains (fabrikam.com); this user cannot sign in (policy.allowForeignDomains is off)",
      'tenants[1].idp.users[3].upn: has no domain; this user cannot sign in (policy.allowForeignDomains is off)',
    ]);
  });

  it('with allowForeignDomains, a local user of another tenant\'s domain is still pointed out', () => {
    const w = warnings([
      tenant('contoso', ['contoso.com'], localIdp('ann@contoso.com')),
      tenant('guests', ['guests.com'], localIdp('ann@contoso.com', 'partner@partner.org'), { allowForeignDomains: true }),
    ]);
    expect(w.slice(1)).toEqual([
      'tenants[1].idp.users[0].upn: contoso.com belongs to tenant contoso; tenant guests will sign this user in under its own id',
      "tenants[1].idp.users[1].upn: partner.org is not one of the tenant's domains (guests.com); tenant guests will sign this user in under its own id",
    ]);
  });

  it('`config check` prints them on stderr, each with its path, and exits 0', async () => {
    const path = file([tenant('guests', ['guests.com'], localIdp('host@guests.com'), { allowForeignDomains: true })]);
    let out = '';
    let err = '';
    const io: CliIO = { stdout: (s) => void (out += s), stderr: (s) => void (err += s), stdin: Readable.from([]), env: {} };
    expect(await main(['config', 'check', '--config', path], io)).toBe(0);
    expect(err).toBe(
      'warning: tenants[0].policy.allowForeignDomains: tenant guests signs in users of any domain, not only guests.com; its tokens may name users of other organizations (docs/configuration.md)\n',
    );
    expect(out).toBe(`ok: ${path}: 1 tenant(s), issuer https://auth.example.com\n`);
  });
});
