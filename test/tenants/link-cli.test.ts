/** `fedbridge link` issues invitations for tenants created through the admin API (kept in the store). */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { run } from '../cli/run.js';
import { openStore } from '../../src/store/index.js';
import { localTenant } from './helpers.js';

let dir: string;
let file: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'fedbridge-link-'));
  file = join(dir, 'config.yaml');
  const store = { kind: 'sqlite' as const, path: join(dir, 'db.sqlite') };
  writeFileSync(file, stringify({ server: { publicUrl: 'https://fb.example.com' }, store, keys: { dir: join(dir, 'keys') }, tenants: [localTenant('contoso', 'contoso.test', 'pw-contoso-1')] }));
  const s = await openStore(store);
  try {
    expect(await s.createTenant({ id: 'fabrikam', doc: localTenant('fabrikam', 'fabrikam.test', 'pw-fabrikam-1'), domains: ['fabrikam.test'] }, Date.now())).toBe('ok');
    // One this version cannot read: never a tenant to link to.
    expect(await s.createTenant({ id: 'future', doc: { ...localTenant('future', 'future.test', 'pw-future-1'), hologram: true }, domains: ['future.test'] }, Date.now())).toBe('ok');
  } finally {
    await s.close();
  }
}, 60_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('links a user of a store tenant, and refuses a stored tenant this version cannot read', async () => {
  const ok = await run(['link', '--config', file, '--tenant', 'fabrikam', '--user', 'user@fabrikam.test', '--servername', 'https://mdm.example.com']);
  expect(ok.code, ok.err).toBe(0);
  expect(ok.out).toMatch(/^ms-device-enrollment:\?mode=mdm&username=user%40fabrikam\.test&servername=/);
  const bad = await run(['link', '--config', file, '--tenant', 'future', '--user', 'user@future.test', '--servername', 'https://mdm.example.com']);
  expect(bad.code).not.toBe(0);
  expect(bad.out).toBe('');
}, 60_000);
