/** KeyRing: every algorithm, rotation without downtime, pruning, file modes; and rotation through a running service. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLocalJWKSet, createRemoteJWKSet, decodeProtectedHeader, generateKeyPair, jwtVerify, SignJWT } from 'jose';
import { pino } from 'pino';
import { KeyRing, rotateKeys, type SigningAlg } from '../../src/tokens/keys.js';
import { mintToken, type MintInput } from '../../src/tokens/mint.js';
import { verifyFedbridgeToken } from '../../src/tokens/verify.js';
import { loadConfig } from '../../src/config/load.js';
import { createService } from '../../src/service.js';
import { upstreamKinds } from '../../src/upstreams/registry.js';
import { freePort, startService, TestClock, type TestService } from '../helpers/service.js';
import { signIn } from '../helpers/html.js';

const ALGS: SigningAlg[] = ['ES256', 'RS256', 'PS256', 'EdDSA'];
const TIMING = { jwksMaxAgeSeconds: 300, tokenTtlSeconds: 600 };
const MAX_AGE = TIMING.jwksMaxAgeSeconds * 1000;
const TTL = TIMING.tokenTtlSeconds * 1000;
const SKEW = 60_000;
const ISSUER = 'https://auth.example.com';
const T0 = Date.UTC(2030, 0, 1, 12, 0, 0);
const APPRU = 'ms-app://windows.immersivecontrolpanel';

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'fedbridge-keys-'));
  dirs.push(d);
  return d;
}
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function input(now: number): MintInput {
  return {
    identity: {
      subject: 'ann',
      upn: 'ann@contoso.com',
      email: 'ann@contoso.com',
      groups: [],
      amr: ['pwd'],
      authTime: Math.floor(now / 1000),
      idp: { kind: 'local', id: 'contoso-local' },
    },
    issuer: ISSUER,
    audience: 'urn:test:mdm',
    tenantId: 'contoso',
    ttlSeconds: TIMING.tokenTtlSeconds,
    loginHint: 'ann@contoso.com',
    client: {},
    invitationId: null,
    now,
  };
}

const verify = (ring: KeyRing, token: string, now: number) =>
  verifyFedbridgeToken(token, { keys: ring.verifier(now), issuer: ISSUER, audience: 'urn:test:mdm', now });

const kidOf = (token: string) => decodeProtectedHeader(token).kid;
const mode = (path: string) => statSync(path).mode & 0o777;
const keyFiles = (dir: string) => readdirSync(dir).filter((f) => f.endsWith('.json'));

describe.each(ALGS)('KeyRing with %s', (alg) => {
  let dir: string;
  let ring: KeyRing;
  beforeAll(async () => {
    dir = tempDir();
    ring = await KeyRing.open(join(dir, 'keys'), alg, TIMING, T0);
  });

  it('generates one key on first open, in a 0700 directory, written with mode 0600', () => {
    const files = keyFiles(ring.dir);
    expect(files).toHaveLength(1);
    expect(mode(join(ring.dir, files[0]))).toBe(0o600);
    expect(mode(ring.dir)).toBe(0o700);
    const stored = JSON.parse(readFileSync(join(ring.dir, files[0]), 'utf8'));
    expect(stored).toMatchObject({ alg, activateAt: T0, retireAt: null });
  });

  it('mintToken signs with it: header alg, kid and typ', async () => {
    const { token, claims } = await mintToken(ring, input(T0));
    expect(decodeProtectedHeader(token)).toEqual({ alg, kid: ring.signingKey(T0).kid, typ: 'JWT' });
    expect(claims).toMatchObject({ iss: ISSUER, aud: 'urn:test:mdm', tid: 'contoso', exp: T0 / 1000 + 600 });
    expect(token.length).toBeLessThanOrEqual(4096);
  });

  it('the token verifies with the ring and with a plain jose JWKS of the published keys', async () => {
    const { token } = await mintToken(ring, input(T0));
    expect(await verify(ring, token, T0 + 1000)).toMatchObject({ ok: true, claims: { upn: 'ann@contoso.com' } });
    const { payload, protectedHeader } = await jwtVerify(token, createLocalJWKSet(ring.jwks(T0)), { issuer: ISSUER, currentDate: new Date(T0) });
    expect(protectedHeader.alg).toBe(alg);
    expect(payload.sub).toBeTruthy();
  });

  it('the JWKS carries public parts only, with kid, alg and use', () => {
    const { keys } = ring.jwks(T0);
    expect(keys).toHaveLength(1);
    for (const k of keys) {
      for (const priv of ['d', 'p', 'q', 'dp', 'dq', 'qi']) expect(k).not.toHaveProperty(priv);
      expect(k).toMatchObject({ kid: ring.signingKey(T0).kid, alg, use: 'sig' });
    }
  });

  it('a tampered token → bad_signature', async () => {
    const { token } = await mintToken(ring, input(T0));
    const [h, p, s] = token.split('.');
    const payload = JSON.parse(Buffer.from(p, 'base64url').toString());
    const forged = `${h}.${Buffer.from(JSON.stringify({ ...payload, upn: 'admin@contoso.com' })).toString('base64url')}.${s}`;
    expect(await verify(ring, forged, T0)).toMatchObject({ ok: false, error: 'bad_signature' });
  });

  it('a token signed by another key with the same kid → bad_signature', async () => {
    const { privateKey } = await generateKeyPair(alg, alg === 'EdDSA' ? { crv: 'Ed25519' } : {});
    const forged = await new SignJWT({ ...input(T0), tid: 'contoso', upn: 'x', jti: 'j', sub: 's' })
      .setProtectedHeader({ alg, kid: ring.signingKey(T0).kid, typ: 'JWT' })
      .setIssuer(ISSUER)
      .setAudience('urn:test:mdm')
      .setIssuedAt(T0 / 1000)
      .setNotBefore(T0 / 1000)
      .setExpirationTime(T0 / 1000 + 600)
      .sign(privateKey);
    expect(await verify(ring, forged, T0)).toMatchObject({ ok: false, error: 'bad_signature' });
  });

  it('reopening the directory loads the same key, it does not make a new one', async () => {
    const again = await KeyRing.open(ring.dir, alg, TIMING, T0 + 5000);
    expect(again.signingKey(T0 + 5000).kid).toBe(ring.signingKey(T0).kid);
    expect(keyFiles(ring.dir)).toHaveLength(1);
  });
});

describe('unsigned and HMAC tokens are refused', () => {
  it('alg none and HS256 → not accepted', async () => {
    const ring = await KeyRing.open(join(tempDir(), 'keys'), 'ES256', TIMING, T0);
    const claims = { iss: ISSUER, aud: 'urn:test:mdm', sub: 's', upn: 'u', tid: 'contoso', jti: 'j', iat: T0 / 1000, nbf: T0 / 1000, exp: T0 / 1000 + 600 };
    const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const none = `${b64({ alg: 'none', typ: 'JWT', kid: ring.signingKey(T0).kid })}.${b64(claims)}.`;
    expect(await verify(ring, none, T0)).toMatchObject({ ok: false });
    const hs = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'JWT', kid: ring.signingKey(T0).kid }).sign(new TextEncoder().encode('x'.repeat(32)));
    expect(await verify(ring, hs, T0)).toMatchObject({ ok: false, error: 'bad_signature' });
  });
});

describe('rotation (time moved by hand)', () => {
  it('the new key is published at once but signs only after the JWKS max-age', async () => {
    const dir = join(tempDir(), 'keys');
    const ring = await KeyRing.open(dir, 'ES256', TIMING, T0);
    const oldKid = ring.signingKey(T0).kid;
    const t1 = T0 + 3_600_000;
    const r = await rotateKeys(dir, 'ES256', TIMING, t1);
    expect(r).toMatchObject({ activateAt: t1 + MAX_AGE, removed: [] });
    await ring.reload();

    expect(ring.jwks(t1).keys.map((k) => k.kid).sort()).toEqual([oldKid, r.kid].sort());
    expect(ring.signingKey(t1).kid).toBe(oldKid);
    expect(ring.signingKey(t1 + MAX_AGE - 1).kid).toBe(oldKid);
    expect(ring.signingKey(t1 + MAX_AGE).kid).toBe(r.kid);
    expect(ring.list(t1).map((k) => [k.kid, k.state])).toEqual([
      [oldKid, 'signing'],
      [r.kid, 'published, signs later'],
    ]);
    expect(ring.list(t1 + MAX_AGE).map((k) => [k.kid, k.state])).toEqual([
      [oldKid, 'retired, still published'],
      [r.kid, 'signing'],
    ]);
    for (const f of keyFiles(dir)) expect(mode(join(dir, f))).toBe(0o600);
  });

  it('a rotation picked up late (after its activation time) still waits one max-age before signing', async () => {
    const dir = join(tempDir(), 'keys');
    let clock = T0;
    const ring = await KeyRing.open(dir, 'ES256', TIMING, T0, () => clock);
    const oldKid = ring.signingKey(T0).kid;
    const r = await rotateKeys(dir, 'ES256', TIMING, T0);
    // The service only notices an hour later (a missed watch event, a late SIGHUP): the file
    // says the key may sign already, but no JWKS we served had it before now.
    clock = T0 + 3_600_000;
    await ring.reload();
    expect(ring.jwks(clock).keys.map((k) => k.kid)).toContain(r.kid);
    expect(ring.signingKey(clock).kid).toBe(oldKid);
    expect(ring.list(clock).find((k) => k.kid === r.kid)?.state).toBe('published, signs later');
    expect(ring.signingKey(clock + MAX_AGE).kid).toBe(r.kid);
    // The old key signed until clock + MAX_AGE: its tokens must verify for a whole TTL after.
    const lastOld = await mintToken(ring, input(clock + MAX_AGE - 1));
    expect(kidOf(lastOld.token)).toBe(oldKid);
    // (exp is in whole seconds and has no leeway: the last full second before it.)
    expect((await verify(ring, lastOld.token, clock + MAX_AGE + TTL - 2000)).ok).toBe(true);
    expect(ring.jwks(clock + MAX_AGE + TTL + SKEW).keys.map((k) => k.kid)).toEqual([r.kid]);
  });

  it('the old key verifies the tokens it signed until they expire, then leaves the JWKS', async () => {
    const dir = join(tempDir(), 'keys');
    const ring = await KeyRing.open(dir, 'ES256', TIMING, T0);
    const oldKid = ring.signingKey(T0).kid;
    const r = await rotateKeys(dir, 'ES256', TIMING, T0);
    await ring.reload();
    // The last token the old key signs is minted just before the new key takes over.
    const lastOld = await mintToken(ring, input(r.activateAt - 1));
    expect(kidOf(lastOld.token)).toBe(oldKid);
    const firstNew = await mintToken(ring, input(r.activateAt));
    expect(kidOf(firstNew.token)).toBe(r.kid);

    const nearExpiry = r.activateAt - 1 + TTL - 1000;
    expect(await verify(ring, lastOld.token, nearExpiry)).toMatchObject({ ok: true });
    expect(ring.jwks(r.activateAt + TTL + SKEW - 1).keys.map((k) => k.kid)).toContain(oldKid);
    expect(ring.jwks(r.activateAt + TTL + SKEW).keys.map((k) => k.kid)).toEqual([r.kid]);
  });

  it('keys past retire + token TTL are pruned on the next rotate', async () => {
    const dir = join(tempDir(), 'keys');
    const ring = await KeyRing.open(dir, 'ES256', TIMING, T0);
    const first = ring.signingKey(T0).kid;
    const second = await rotateKeys(dir, 'ES256', TIMING, T0);
    // Still published: not pruned by a rotate before retire + TTL + skew.
    const early = await rotateKeys(dir, 'ES256', TIMING, T0 + MAX_AGE + 1000);
    expect(early.removed).toEqual([]);
    expect(existsSync(join(dir, `${first}.json`))).toBe(true);

    const late = await rotateKeys(dir, 'ES256', TIMING, T0 + MAX_AGE + TTL + SKEW + 1);
    expect(late.removed).toEqual([first]);
    expect(existsSync(join(dir, `${first}.json`))).toBe(false);
    expect(keyFiles(dir).sort()).toEqual([second.kid, early.kid, late.kid].map((k) => `${k}.json`).sort());
    await ring.reload();
    expect(ring.jwks(T0 + MAX_AGE + TTL + SKEW + 1).keys.map((k) => k.kid)).not.toContain(first);
  });

  it('two rotations within one max-age: each key signs in turn, none is skipped while cached JWKS lack it', async () => {
    const dir = join(tempDir(), 'keys');
    const ring = await KeyRing.open(dir, 'ES256', TIMING, T0);
    const a = ring.signingKey(T0).kid;
    const b = await rotateKeys(dir, 'ES256', TIMING, T0);
    const c = await rotateKeys(dir, 'ES256', TIMING, T0 + 60_000);
    await ring.reload();
    expect(ring.jwks(T0 + 60_000).keys).toHaveLength(3);
    expect(ring.signingKey(T0 + 60_000).kid).toBe(a);
    expect(ring.signingKey(b.activateAt).kid).toBe(b.kid);
    expect(ring.signingKey(c.activateAt).kid).toBe(c.kid);
  });

  it('rotating to another algorithm keeps tokens of the old one valid', async () => {
    const dir = join(tempDir(), 'keys');
    const ring = await KeyRing.open(dir, 'ES256', TIMING, T0);
    const es = await mintToken(ring, input(T0));
    const r = await rotateKeys(dir, 'EdDSA', TIMING, T0);
    await ring.reload();
    const ed = await mintToken(ring, input(r.activateAt));
    expect(decodeProtectedHeader(ed.token).alg).toBe('EdDSA');
    expect(await verify(ring, es.token, r.activateAt)).toMatchObject({ ok: true });
    expect(await verify(ring, ed.token, r.activateAt)).toMatchObject({ ok: true });
  });
});

describe('rotation through a running service', () => {
  let svc: TestService;
  const MDM = `Basic ${Buffer.from('demo:fedbridge-demo').toString('base64')}`;

  beforeAll(async () => {
    svc = await startService({ clock: new TestClock(T0) });
  });
  afterAll(() => svc.close());

  const mint = async () => {
    const { token } = await signIn(svc.url, { appru: APPRU, hint: 'alice@example.com', user: 'alice@example.com', password: 'fedbridge-demo' });
    if (!token) throw new Error('sign-in failed');
    return token;
  };
  const jwksKids = async () => ((await (await fetch(`${svc.url}/.well-known/jwks.json`)).json()) as { keys: Array<{ kid: string }> }).keys.map((k) => k.kid);
  const introspect = async (token: string) => {
    const res = await fetch(`${svc.url}/introspect`, {
      method: 'POST',
      headers: { authorization: MDM, 'content-type': 'application/json' },
      body: JSON.stringify({ token, consume: false }),
    });
    return (await res.json()) as { active: boolean; error?: string };
  };

  it('rotate + reload: both keys published, old key signs until max-age, then the new one; old tokens stay valid', async () => {
    const before = await mint();
    const oldKid = kidOf(before);
    expect(await jwksKids()).toEqual([oldKid]);

    const { keys } = svc.config;
    const r = await rotateKeys(keys.dir, keys.algorithm, { jwksMaxAgeSeconds: keys.jwksMaxAgeSeconds, tokenTtlSeconds: svc.config.tokens.ttlSeconds }, svc.clock.now());
    await svc.service.deps.keys.reload();

    expect((await jwksKids()).sort()).toEqual([oldKid, r.kid].sort());
    expect(await introspect(before)).toMatchObject({ active: true });
    expect(kidOf(await mint())).toBe(oldKid);

    svc.clock.advance(keys.jwksMaxAgeSeconds * 1000 - 1000);
    expect(kidOf(await mint())).toBe(oldKid);

    svc.clock.advance(1000);
    const after = await mint();
    expect(kidOf(after)).toBe(r.kid);
    expect(await introspect(after)).toMatchObject({ active: true });
    expect(await introspect(before)).toMatchObject({ active: true });
    const jwks = createRemoteJWKSet(new URL(`${svc.url}/.well-known/jwks.json`));
    await expect(jwtVerify(before, jwks, { issuer: svc.url, currentDate: new Date(svc.clock.now()) })).resolves.toBeTruthy();
    await expect(jwtVerify(after, jwks, { issuer: svc.url, currentDate: new Date(svc.clock.now()) })).resolves.toBeTruthy();
  });
});

describe('a service with watchKeys picks up a rotation by itself', () => {
  let server: Server;
  let close: () => Promise<void>;
  let url: string;
  let dir: string;

  beforeAll(async () => {
    dir = tempDir();
    const port = await freePort();
    const config = loadConfig(undefined, { HOST: '127.0.0.1', PORT: String(port), FEDBRIDGE_DATA: join(dir, 'data'), FEDBRIDGE_KEYS: join(dir, 'keys') }, { kinds: upstreamKinds });
    const service = await createService(config, { watchKeys: true, log: pino({ level: 'silent' }) });
    server = await new Promise<Server>((resolve) => {
      const s = service.app.listen(port, '127.0.0.1', () => resolve(s));
    });
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    close = async () => {
      await new Promise<void>((r) => server.close(() => r()));
      server.closeAllConnections?.();
      await service.close();
    };
  });
  afterAll(() => close());

  it('the JWKS lists the new key within two seconds, without reload() or SIGHUP', async () => {
    const kids = async () => ((await (await fetch(`${url}/.well-known/jwks.json`)).json()) as { keys: Array<{ kid: string }> }).keys.map((k) => k.kid);
    const [oldKid] = await kids();
    const r = await rotateKeys(join(dir, 'keys'), 'ES256', TIMING, Date.now());
    const deadline = Date.now() + 2000;
    let seen = await kids();
    while (!seen.includes(r.kid) && Date.now() < deadline) {
      await new Promise((res) => setTimeout(res, 50));
      seen = await kids();
    }
    expect(seen.sort()).toEqual([oldKid, r.kid].sort());
  });
});
