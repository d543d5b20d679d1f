/**
 * An uploaded logo is on the very first page after the upload (docs/branding.md): on the instance
 * that took the upload; on another instance sharing the store, as soon as its poll has seen the
 * store's new revision; and after a restart, on the first page of the tenant. The tenant directory
 * reads the logos of each snapshot before serving it (src/http/views.ts UploadedLogos.prime).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { UploadedLogos } from '../../src/http/views.js';
import { ADMIN_TOKEN, APPRU, baseFile, eventually, localTenant, startWithFile, type Running } from '../tenants/helpers.js';

const shared = mkdtempSync(join(tmpdir(), 'fedbridge-logo-exact-'));
const file = () =>
  baseFile({
    store: { kind: 'sqlite', path: join(shared, 'db.sqlite') },
    tenants: [localTenant('contoso', 'contoso.test', 'pw-contoso-1', { branding: { logoUrl: 'https://cdn.contoso.test/logo.png' } })],
  });

let a: Running;
let b: Running | undefined;
let c: Running | undefined;

beforeAll(async () => {
  // A polls not at all (only its own writes change its snapshot); B polls every 200 ms as a real instance does.
  a = await startWithFile(file(), { tenantPollMs: 0 });
  b = await startWithFile(file(), { tenantPollMs: 200 });
}, 60_000);
afterAll(async () => {
  await c?.close();
  await b?.close();
  await a?.close();
  rmSync(shared, { recursive: true, force: true });
});

const PNG = (n: number) => Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.from(`0000000dIHDR-logo-${n}`)]);

async function upload(on: Running, n: number): Promise<string> {
  const res = await fetch(`${on.url}/admin/api/v1/tenants/contoso/logo`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'image/png' },
    body: PNG(n),
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { etag: string }).etag;
}

/** The logo address on the tenant's sign-in page. */
async function logoOnPage(on: Running): Promise<string | null> {
  const res = await fetch(`${on.url}/t/contoso/auth?appru=${encodeURIComponent(APPRU)}`);
  expect(res.status).toBe(200);
  const m = /<img[^>]*id="logo"[^>]*src="([^"]+)"|<img[^>]*src="([^"]+)"[^>]*id="logo"/.exec(await res.text());
  return m ? (m[1] ?? m[2]).replaceAll('&amp;', '&') : null;
}

const uploaded = (etag: string) => `/t/contoso/logo?v=${encodeURIComponent(etag)}`;

/** Waits until B's poll has seen the store change and swapped in a snapshot after `generation`. */
async function bSawChange(generation: number): Promise<void> {
  expect(await eventually(async () => b!.service.deps.directory.current().generation > generation, 30_000, 20)).toBe(true);
}

it('the first page after an upload shows it, on the instance that took it and on another once its poll saw it', async () => {
  // Before any upload, both show the logoUrl.
  expect(await logoOnPage(a)).toBe('https://cdn.contoso.test/logo.png');
  expect(await logoOnPage(b!)).toBe('https://cdn.contoso.test/logo.png');
  const seenByB = b!.service.deps.directory.current().generation;
  const first = await upload(a, 1);
  expect(await logoOnPage(a)).toBe(uploaded(first));
  await bSawChange(seenByB);
  expect(await logoOnPage(b!)).toBe(uploaded(first));

  // A second upload, after both instances have shown the first one for a while.
  const seenAgain = b!.service.deps.directory.current().generation;
  const second = await upload(a, 2);
  expect(second).not.toBe(first);
  expect(await logoOnPage(a)).toBe(uploaded(second));
  await bSawChange(seenAgain);
  expect(await logoOnPage(b!)).toBe(uploaded(second));
}, 60_000);

it('after a restart, the first page of the tenant shows its uploaded logo', async () => {
  const etag = (await a.service.deps.store.getLogo('contoso'))!.etag;
  await b!.close();
  b = undefined;
  c = await startWithFile(file(), { tenantPollMs: 0 });
  expect(await logoOnPage(c)).toBe(uploaded(etag));
}, 60_000);

it('a look at the store taken under an older snapshot does not undo what a newer snapshot recorded', () => {
  const logos = a.service.deps.views.logos;
  logos.note('someone', 'new-etag', 7);
  logos.note('someone', 'old-etag', 6);
  expect(logos.get('someone', async () => ({ etag: 'x' }), 7)).toBe('new-etag');
  // An upload's answer (no generation) is always taken.
  logos.note('someone', 'uploaded', 0);
  expect(logos.get('someone', async () => ({ etag: 'uploaded' }), 0)).toBe('uploaded');
});

it('a tenant whose logo read is not answered in time is left to the background look; the others are recorded', async () => {
  const logos = new UploadedLogos();
  const tenants = new Map([['quick', {}], ['stuck', {}], ['none', {}]]);
  const read = (id: string) => (id === 'stuck' ? new Promise<null>(() => undefined) : Promise.resolve(id === 'quick' ? { etag: 'q1' } : null));
  await logos.prime({ generation: 3, tenants }, read, { deadlineMs: 200 });
  const lookups: string[] = [];
  const lookup = async (id: string) => {
    lookups.push(id);
    return null;
  };
  expect(logos.get('quick', lookup, 3)).toBe('q1');
  expect(logos.get('none', lookup, 3)).toBeNull();
  expect(lookups).toEqual([]);
  expect(logos.get('stuck', lookup, 3)).toBeUndefined();
  await logos.settled();
  expect(lookups).toEqual(['stuck']);
}, 30_000);
