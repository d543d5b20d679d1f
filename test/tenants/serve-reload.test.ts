/**
 * `fedbridge serve` as a child process (the compiled package): a change of the config file is
 * picked up by itself, SIGHUP reloads it (and the keys), a bad file is refused with the running
 * configuration kept, and SIGTERM still stops it cleanly.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { buildPrivatePackage } from '../helpers/private-package.js';
import { freePort } from '../helpers/redis.js';
import { ADMIN_TOKEN, eventually, localTenant } from './helpers.js';

let PKG: string;
let dir: string;
let child: ChildProcess | null = null;

beforeAll(async () => {
  PKG = await buildPrivatePackage('fedbridge-reload-pkg-');
  dir = mkdtempSync(join(tmpdir(), 'fedbridge-serve-reload-'));
}, 400_000);
afterAll(() => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  if (PKG) rmSync(PKG, { recursive: true, force: true });
  if (dir) rmSync(dir, { recursive: true, force: true });
});

it('reloads on a file change and on SIGHUP, refuses a bad file, and still stops on SIGTERM', async () => {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const file = join(dir, 'config.yaml');
  const write = (tenants: unknown[]) =>
    writeFileSync(
      file,
      stringify({
        server: { publicUrl: url, port, host: '127.0.0.1' },
        store: { kind: 'sqlite', path: join(dir, 'db.sqlite') },
        keys: { dir: join(dir, 'keys') },
        admin: { token: ADMIN_TOKEN },
        tenants,
      }),
    );
  const contoso = localTenant('contoso', 'contoso.test', 'pw-contoso-1');
  write([contoso]);

  let out = '';
  child = spawn(process.execPath, [join(PKG, 'bin', 'fedbridge.js'), 'serve', '--config', file], {
    cwd: PKG,
    env: { PATH: process.env.PATH ?? '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (c) => (out += c));
  child.stderr!.on('data', (c) => (out += c));
  const exited = new Promise<number | null>((r) => child!.on('exit', (code) => r(code)));
  const count = (msg: string) => out.split('\n').filter((l) => l.includes(`"msg":"${msg}"`)).length;
  const tenantIds = async () => {
    const res = await fetch(`${url}/admin/api/v1/tenants`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    return ((await res.json()) as { tenants: Array<{ id: string }> }).tenants.map((t) => t.id);
  };

  expect(await eventually(async () => count('fedbridge listening') === 1, 60_000)).toBe(true);
  expect(await tenantIds()).toEqual(['contoso']);

  // 1. The file changes: picked up by itself.
  write([contoso, localTenant('fabrikam', 'fabrikam.test', 'pw-fabrikam-1')]);
  expect(await eventually(async () => count('configuration reloaded') >= 1, 30_000)).toBe(true);
  expect(await tenantIds()).toEqual(['contoso', 'fabrikam']);

  // 2. SIGHUP: the keys and the file again.
  const reloadsBefore = count('configuration reloaded');
  child.kill('SIGHUP');
  expect(await eventually(async () => count('keys reloaded') === 1 && count('configuration reloaded') > reloadsBefore, 30_000)).toBe(true);

  // 3. A bad file: refused, every problem logged, the running tenants stay.
  write([contoso, { ...localTenant('fabrikam', 'fabrikam.test', 'pw-fabrikam-1'), domains: ['contoso.test'] }]);
  expect(await eventually(async () => count('configuration reload refused; the running configuration stays') >= 1, 30_000)).toBe(true);
  expect(out).toContain('configuration reload refused: tenants[1].domains[0]: contoso.test already belongs to tenant contoso');
  expect(await tenantIds()).toEqual(['contoso', 'fabrikam']);

  child.kill('SIGTERM');
  expect(await exited).toBe(0);
}, 180_000);
