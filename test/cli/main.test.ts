/** The `fedbridge` command, run in-process through main(argv, io) with captured output. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { stringify } from 'yaml';
import { main } from '../../src/cli/main.js';
import type { CliIO } from '../../src/cli/io.js';
import { KeyRing, rotateKeys } from '../../src/tokens/keys.js';
import { mintToken, type MintInput } from '../../src/tokens/mint.js';
import { hashPasswordSync, verifyPassword } from '../../src/upstreams/local/password.js';
import { buildEnrollEnvelope, buildGetPoliciesEnvelope } from '../../src/soap/build.js';
import { signIn } from '../helpers/html.js';
import { freePort, startService, type TestService } from '../helpers/service.js';
import { annMintInput } from '../helpers/mint.js';

const PUBLIC_URL = 'https://auth.contoso.test';
const AUDIENCE = 'urn:contoso:mdm';
const SECRET = 'mdm-secret-0123456789abcdef';

export interface Run {
  code: number;
  out: string;
  err: string;
}

/** Runs `fedbridge ...argv` in-process; stdin is the given text (not a terminal unless tty). */
export async function run(argv: string[], opts: { env?: Record<string, string>; stdin?: string; tty?: boolean } = {}): Promise<Run> {
  let out = '';
  let err = '';
  const stdin = Readable.from(opts.stdin === undefined ? [] : [Buffer.from(opts.stdin)]) as Readable & { isTTY?: boolean };
  if (opts.tty) stdin.isTTY = true;
  const io: CliIO = { stdout: (s) => void (out += s), stderr: (s) => void (err += s), stdin, env: { CLI_TEST_MDM_SECRET: SECRET, ...opts.env } };
  const code = await main(argv, io);
  return { code, out, err };
}

let dir: string;
let n = 0;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'fedbridge-cli-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A valid config file in its own directory (keys, store); returns its path and key dir. */
function configFile(extra: Record<string, unknown> = {}, keyOptions: Record<string, unknown> = {}): { file: string; keys: string } {
  const base = join(dir, `c${++n}`);
  const keys = join(base, 'keys');
  const file = join(dir, `config-${n}.yaml`);
  writeFileSync(
    file,
    stringify({
      server: { publicUrl: PUBLIC_URL },
      store: { kind: 'sqlite', path: join(base, 'fedbridge.db') },
      keys: { dir: keys, ...keyOptions },
      tokens: { ttlSeconds: 600, audience: 'urn:default:mdm' },
      enrollmentServers: [{ id: 'mdm', secret: '${CLI_TEST_MDM_SECRET}' }],
      tenants: [
        {
          id: 'contoso',
          displayName: 'Contoso',
          domains: ['contoso.test'],
          audience: AUDIENCE,
          idp: { kind: 'local', users: [{ upn: 'ann@contoso.test', passwordHash: hashPasswordSync('pw') }] },
        },
      ],
      ...extra,
    }),
  );
  return { file, keys };
}

/** A token signed with the config's current key, as the service would mint it. */
async function tokenFor(keys: string, over: Partial<MintInput> = {}, now = Date.now()): Promise<string> {
  const ring = await KeyRing.open(keys, 'ES256', { jwksMaxAgeSeconds: 300, tokenTtlSeconds: 600 }, now);
  return (await mintToken(ring, annMintInput(now, { issuer: PUBLIC_URL, audience: AUDIENCE, ...over }))).token;
}

const kidOf = (token: string) => JSON.parse(Buffer.from(token.split('.')[0], 'base64url').toString()).kid as string;

describe('usage', () => {
  it('--help prints the usage and exits 0', async () => {
    const r = await run(['--help']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^usage: fedbridge/);
    for (const cmd of ['serve', 'config check', 'keys list|rotate', 'token verify', 'user hash-password']) expect(r.out).toContain(cmd);
  });

  it('no command → usage, exit 2', async () => {
    expect((await run([])).code).toBe(2);
  });

  it('an unknown command → message on stderr, exit 2', async () => {
    const r = await run(['frobnicate']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('unknown command frobnicate');
    expect(r.out).toBe('');
  });

  it('an unknown option → message on stderr, exit 1, no stack trace', async () => {
    const r = await run(['config', 'check', '--bogus']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/bogus/);
    expect(r.err).not.toMatch(/^\s+at /m);
  });
});

describe('config check', () => {
  it('a valid file → ok line, exit 0', async () => {
    const { file } = configFile();
    const r = await run(['config', 'check', '--config', file]);
    expect(r).toMatchObject({ code: 0, err: '' });
    expect(r.out).toBe(`ok: ${file}: 1 tenant(s), issuer ${PUBLIC_URL}\n`);
  });

  it('FEDBRIDGE_CONFIG names the file when --config is not given', async () => {
    const { file } = configFile();
    const r = await run(['config', 'check'], { env: { FEDBRIDGE_CONFIG: file } });
    expect(r.code).toBe(0);
    expect(r.out).toContain(file);
  });

  it('no file → demo mode is checked', async () => {
    const r = await run(['config', 'check'], { env: { PORT: '8123', FEDBRIDGE_DATA: join(dir, 'demo-data'), FEDBRIDGE_KEYS: join(dir, 'demo-keys') } });
    expect(r.code).toBe(0);
    expect(r.out).toContain('demo mode');
    expect(r.out).toContain('http://127.0.0.1:8123');
  });

  it('a file with several errors → every problem with its path on stderr, exit 1', async () => {
    const file = join(dir, 'broken.yaml');
    writeFileSync(
      file,
      `server: { publicUrl: "http://auth.example.com" }
enrollmentServers: [{ id: mdm, secret: "\${MDM_SECRET}" }]
tenants:
  - { id: a, displayName: A, domains: [a.com], idp: { kind: local, users: [{ upn: x@a.com, passwordHash: nope }] } }
  - { id: b, displayName: B, domains: [a.com], idp: { kind: oidc, issuer: "http://idp.b.com", clientId: c, clientSecret: s } }
discovery: { enrollmentServiceUrl: "https://one.example.com/e", enrollmentPolicyServiceUrl: "https://two.example.com/p" }
`,
    );
    const r = await run(['config', 'check', '--config', file]);
    expect(r.code).toBe(1);
    expect(r.out).toBe('');
    for (const path of [
      'server.publicUrl: ',
      'enrollmentServers[0].secret: environment variable MDM_SECRET is not set',
      'tenants[0].idp.users[0].passwordHash: ',
      'tenants[1].idp.issuer: ',
      'tenants[1].domains[0]: a.com already belongs to tenant a',
      'discovery.enrollmentPolicyServiceUrl: ',
    ]) {
      expect(r.err).toContain(path);
    }
    expect(r.err).toContain(file);
    expect(r.err).not.toMatch(/^\s+at /m);
  });

  it('a missing file → exit 1 with the reason', async () => {
    const r = await run(['config', 'check', '--config', join(dir, 'absent.yaml')]);
    expect(r.code).toBe(1);
    expect(r.err).toContain('cannot read');
  });
});

describe('keys list and keys rotate', () => {
  it('keys list on a fresh directory creates the first key and shows it signing', async () => {
    const { file } = configFile();
    const r = await run(['keys', 'list', '--config', file]);
    expect(r.code).toBe(0);
    const lines = r.out.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^\S+ {2}ES256 {2}signing {2}created /);
  });

  it('rotate: the new key is published at once but does not sign until the max-age; old tokens still verify', async () => {
    const { file, keys } = configFile();
    const before = await tokenFor(keys);
    const oldKid = kidOf(before);

    const rot = await run(['keys', 'rotate', '--config', file]);
    expect(rot.code).toBe(0);
    const newKid = /new key (\S+) published now/.exec(rot.out)?.[1];
    expect(newKid).toBeTruthy();
    expect(rot.out).toContain('after the JWKS max-age of 300s');

    const list = await run(['keys', 'list', '--config', file]);
    expect(list.out).toMatch(new RegExp(`^${oldKid} {2}ES256 {2}signing `, 'm'));
    expect(list.out).toMatch(new RegExp(`^${newKid} {2}ES256 {2}published, signs later `, 'm'));

    // The service would still sign with the old key: a token minted now carries it.
    expect(kidOf(await tokenFor(keys))).toBe(oldKid);
    const verify = await run(['token', 'verify', '--config', file, before]);
    expect(verify.code).toBe(0);
  });

  it('after the max-age the new key signs (jwksMaxAgeSeconds: 0) and the old one stays published', async () => {
    const { file, keys } = configFile({}, { jwksMaxAgeSeconds: 0 });
    const before = await tokenFor(keys);
    const rot = await run(['keys', 'rotate', '--config', file]);
    const newKid = /new key (\S+) published now/.exec(rot.out)![1];
    const list = await run(['keys', 'list', '--config', file]);
    expect(list.out).toMatch(new RegExp(`^${newKid} {2}ES256 {2}signing `, 'm'));
    expect(list.out).toMatch(new RegExp(`^${kidOf(before)} {2}ES256 {2}retired, still published `, 'm'));
    expect(kidOf(await tokenFor(keys))).toBe(newKid);
    expect((await run(['token', 'verify', '--config', file, before])).code).toBe(0);
  });

  it('keys past retire + token TTL are pruned on the next rotate', async () => {
    const { file, keys } = configFile();
    const longAgo = Date.now() - 3 * 3_600_000;
    const ring = await KeyRing.open(keys, 'ES256', { jwksMaxAgeSeconds: 300, tokenTtlSeconds: 600 }, longAgo);
    const ancient = ring.signingKey(longAgo).kid;
    const previous = await rotateKeys(keys, 'ES256', { jwksMaxAgeSeconds: 300, tokenTtlSeconds: 600 }, longAgo);

    const rot = await run(['keys', 'rotate', '--config', file]);
    expect(rot.code).toBe(0);
    expect(rot.out).toContain(`removed expired keys: ${ancient}`);
    const list = await run(['keys', 'list', '--config', file]);
    expect(list.out).not.toContain(ancient);
    expect(list.out).toMatch(new RegExp(`^${previous.kid} {2}ES256 {2}signing `, 'm'));
  });

  it('an unknown keys subcommand → exit 1', async () => {
    const { file } = configFile();
    const r = await run(['keys', 'shred', '--config', file]);
    expect(r.code).toBe(1);
    expect(r.err).toContain('unknown keys command shred');
  });
});

describe('token verify with a config', () => {
  let file: string;
  let keys: string;
  let token: string;
  beforeAll(async () => {
    ({ file, keys } = configFile());
    token = await tokenFor(keys, { loginHint: 'ann@contoso.test' });
  });

  it('a valid token → exit 0, the claims as JSON', async () => {
    const r = await run(['token', 'verify', '--config', file, token]);
    expect(r).toMatchObject({ code: 0, err: '' });
    const claims = JSON.parse(r.out);
    expect(claims).toMatchObject({ iss: PUBLIC_URL, aud: AUDIENCE, tid: 'contoso', upn: 'ann@contoso.test', message: null, replay: 'unchecked' });
  });

  it('a tampered token → exit 1 with bad_signature', async () => {
    const [h, p, s] = token.split('.');
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
    const forged = `${h}.${Buffer.from(JSON.stringify({ ...claims, upn: 'boss@contoso.test' })).toString('base64url')}.${s}`;
    const r = await run(['token', 'verify', '--config', file, forged]);
    expect(r.code).toBe(1);
    expect(r.out).toBe('');
    expect(r.err).toMatch(/^invalid: bad_signature: /);
  });

  it('a token signed by another key directory → exit 1 with bad_signature', async () => {
    const other = await tokenFor(join(dir, 'other-keys'));
    const r = await run(['token', 'verify', '--config', file, other]);
    expect(r.code).toBe(1);
    expect(r.err).toContain('bad_signature');
  });

  it('a BST value (base64 of the token) → exit 0', async () => {
    const r = await run(['token', 'verify', '--config', file, Buffer.from(token).toString('base64')]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out).upn).toBe('ann@contoso.test');
  });

  it('a whole GetPolicies envelope, from a file → exit 0, message GetPolicies', async () => {
    const path = join(dir, 'getpolicies.xml');
    writeFileSync(path, buildGetPoliciesEnvelope({ token }));
    const r = await run(['token', 'verify', '--config', file, path]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ message: 'GetPolicies', upn: 'ann@contoso.test' });
  });

  it('a whole Enroll envelope on stdin (-) → exit 0 with the DeviceID, nothing consumed', async () => {
    const xml = buildEnrollEnvelope({ token, deviceId: 'DEV-1' });
    for (let i = 0; i < 2; i++) {
      const r = await run(['token', 'verify', '--config', file, '-'], { stdin: xml });
      expect(r.code).toBe(0);
      expect(JSON.parse(r.out)).toMatchObject({ message: 'Enroll', deviceId: 'DEV-1', replay: 'unchecked' });
    }
  });

  it('an expired token → exit 1 with expired', async () => {
    const old = await tokenFor(keys, {}, Date.now() - 3_600_000);
    const r = await run(['token', 'verify', '--config', file, old]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^invalid: expired: /);
  });

  it("a token living longer than the config's tokens.ttlSeconds → exit 1 with expired (as at /introspect)", async () => {
    const long = await tokenFor(keys, { ttlSeconds: 1200 });
    const r = await run(['token', 'verify', '--config', file, long]);
    expect(r.code).toBe(1);
    // Not expired by the clock (minted now): only the lifetime rule refuses it.
    expect(r.err).toMatch(/^invalid: expired: /);
  });

  it('--audience other → exit 1 with wrong_audience', async () => {
    const r = await run(['token', 'verify', '--config', file, '--audience', 'urn:other', token]);
    expect(r.code).toBe(1);
    expect(r.err).toContain('wrong_audience');
    expect((await run(['token', 'verify', '--config', file, '--audience', AUDIENCE, token])).code).toBe(0);
  });

  it('a token of a tenant the config does not have → exit 1 with unknown_tenant', async () => {
    const stray = await tokenFor(keys, { tenantId: 'fabrikam' });
    const r = await run(['token', 'verify', '--config', file, stray]);
    expect(r.code).toBe(1);
    expect(r.err).toContain('unknown_tenant');
  });

  it('garbage → exit 1 with malformed', async () => {
    const r = await run(['token', 'verify', '--config', file, 'not a token']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^invalid: malformed: /);
  });
});

describe('token verify --jwks against a running service', () => {
  let svc: TestService;
  let token: string;
  beforeAll(async () => {
    svc = await startService();
    const r = await signIn(svc.url, { appru: 'ms-app://windows.immersivecontrolpanel', hint: 'alice@example.com', user: 'alice@example.com', password: 'fedbridge-demo' });
    token = r.token!;
  });
  afterAll(() => svc.close());

  it('a token of the service → exit 0 with its claims', async () => {
    const r = await run(['token', 'verify', '--jwks', `${svc.url}/.well-known/jwks.json`, token]);
    expect(r).toMatchObject({ code: 0, err: '' });
    expect(JSON.parse(r.out)).toMatchObject({ iss: svc.url, upn: 'alice@example.com', tid: 'demo' });
  });

  it('with the right --audience → exit 0; another → exit 1 wrong_audience', async () => {
    expect((await run(['token', 'verify', '--jwks', `${svc.url}/.well-known/jwks.json`, '--audience', 'urn:fedbridge:demo', token])).code).toBe(0);
    const r = await run(['token', 'verify', '--jwks', `${svc.url}/.well-known/jwks.json`, '--audience', 'urn:other', token]);
    expect(r.code).toBe(1);
    expect(r.err).toContain('wrong_audience');
  });

  it('a tampered token → exit 1 bad_signature', async () => {
    const r = await run(['token', 'verify', '--jwks', `${svc.url}/.well-known/jwks.json`, `${token.slice(0, -6)}AAAAAA`]);
    expect(r.code).toBe(1);
    expect(r.err).toContain('bad_signature');
  });

  it('a token of another issuer → exit 1', async () => {
    const { keys } = configFile();
    const foreign = await tokenFor(keys);
    const r = await run(['token', 'verify', '--jwks', `${svc.url}/.well-known/jwks.json`, foreign]);
    expect(r.code).toBe(1);
  });

  it('an unreachable JWKS → exit 1 saying the JWKS could not be fetched (not blaming the token)', async () => {
    const closed = `http://127.0.0.1:${await freePort()}/.well-known/jwks.json`;
    const r = await run(['token', 'verify', '--jwks', closed, token]);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`cannot use the JWKS at ${closed}: ECONNREFUSED`);
    expect(r.err).not.toContain('malformed');
    expect(r.err).not.toMatch(/^\s+at /m);
  });

  it('a JWKS URL that answers 404 → exit 1 with the HTTP status', async () => {
    const r = await run(['token', 'verify', '--jwks', `${svc.url}/nope.json`, token]);
    expect(r.code).toBe(1);
    expect(r.err).toContain('HTTP 404');
  });

  it('a JWKS URL that is not a JWK set → exit 1', async () => {
    const r = await run(['token', 'verify', '--jwks', `${svc.url}/.well-known/openid-configuration`, token]);
    expect(r.code).toBe(1);
    expect(r.err).toContain('not a JWK set');
  });

  it('--issuer overrides the issuer derived from the JWKS URL', async () => {
    const r = await run(['token', 'verify', '--jwks', `${svc.url}/.well-known/jwks.json`, '--issuer', 'https://elsewhere.example', token]);
    expect(r.code).toBe(1);
    // Another issuer is said as such (issue #10), not as a bad signature.
    expect(r.err).toBe(`invalid: issued by ${svc.url}, this service is https://elsewhere.example\n`);
    expect((await run(['token', 'verify', '--jwks', `${svc.url}/.well-known/jwks.json`, '--issuer', svc.url, token])).code).toBe(0);
  });
});

describe('user hash-password', () => {
  it('reads stdin, strips one trailing newline, prints only the hash (no prompt when stdin is not a terminal)', async () => {
    const r = await run(['user', 'hash-password'], { stdin: 'correct horse\n' });
    expect(r.code).toBe(0);
    expect(r.err).toBe('');
    expect(r.out).toMatch(/^scrypt\$[^\s]+\n$/);
    const hash = r.out.trimEnd();
    expect(await verifyPassword('correct horse', hash)).toBe(true);
    expect(await verifyPassword('correct horse\n', hash)).toBe(false);
  });

  it('only one newline is stripped', async () => {
    const hash = (await run(['user', 'hash-password'], { stdin: 'pw\n\n' })).out.trimEnd();
    expect(await verifyPassword('pw\n', hash)).toBe(true);
  });

  it('a Windows line ending (CRLF) is stripped too', async () => {
    const hash = (await run(['user', 'hash-password'], { stdin: 'pw\r\n' })).out.trimEnd();
    expect(await verifyPassword('pw', hash)).toBe(true);
  });

  it('no trailing newline: the whole input is the password, spaces kept', async () => {
    const hash = (await run(['user', 'hash-password'], { stdin: ' spaced pw ' })).out.trimEnd();
    expect(await verifyPassword(' spaced pw ', hash)).toBe(true);
  });

  it('each run salts differently', async () => {
    const a = (await run(['user', 'hash-password'], { stdin: 'pw\n' })).out;
    const b = (await run(['user', 'hash-password'], { stdin: 'pw\n' })).out;
    expect(a).not.toBe(b);
  });

  it('the hash is accepted in a config file as a local user', async () => {
    const hash = (await run(['user', 'hash-password'], { stdin: 'pw\n' })).out.trimEnd();
    const { file } = configFile({
      tenants: [{ id: 'contoso', displayName: 'C', domains: ['contoso.test'], idp: { kind: 'local', users: [{ upn: 'a@contoso.test', passwordHash: hash }] } }],
    });
    expect((await run(['config', 'check', '--config', file])).code).toBe(0);
  });

  it('on a terminal the prompt goes to stderr, never stdout', async () => {
    const r = await run(['user', 'hash-password'], { stdin: 'pw\n', tty: true });
    expect(r.code).toBe(0);
    expect(r.err).toContain('Password');
    expect(r.out).toMatch(/^scrypt\$[^\s]+\n$/);
  });

  it('an empty password → exit 1, nothing on stdout', async () => {
    const r = await run(['user', 'hash-password'], { stdin: '\n' });
    expect(r.code).toBe(1);
    expect(r.out).toBe('');
    expect(r.err).toContain('no password');
  });

  it('an unknown user subcommand → exit 1 with usage', async () => {
    const r = await run(['user', 'add']);
    expect(r.code).toBe(1);
    expect(r.err).toContain('hash-password');
  });

  it('the hash verifies with the same password only', async () => {
    const hash = hashPasswordSync('abc');
    expect(await verifyPassword('abc', hash)).toBe(true);
    expect(await verifyPassword('abd', hash)).toBe(false);
  });
});
