/** loadConfig: every problem at once with its path, URL rules, env substitution, demo mode, HOST/PORT. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { ConfigError, loadConfig, type Config } from '../../src/config/load.js';
import { hashPasswordSync } from '../../src/upstreams/local/password.js';

const HASH = hashPasswordSync('pw');
const SECRET = 'enrollment-secret-0123456789';
let dir: string;
let n = 0;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'fedbridge-config-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Writes the config (YAML text, or an object as YAML/JSON) and loads it. */
function load(file: string | Record<string, unknown>, env: Record<string, string> = {}, kinds?: string[], ext = 'yaml'): Config {
  const path = join(dir, `config-${++n}.${ext}`);
  writeFileSync(path, typeof file === 'string' ? file : ext === 'json' ? JSON.stringify(file) : stringify(file));
  return loadConfig(path, env, kinds ? { kinds } : {});
}

/** The problems loadConfig reports (fails the test when it accepts the config). */
function problems(file: string | Record<string, unknown>, env: Record<string, string> = {}, kinds?: string[]): string[] {
  try {
    load(file, env, kinds);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error('the configuration was accepted');
}

const localIdp = { kind: 'local', users: [{ upn: 'ann@contoso.com', passwordHash: HASH }] };
const tenant = (id: string, domain: string, idp: Record<string, unknown> = localIdp, extra: Record<string, unknown> = {}) => ({
  id,
  displayName: id,
  domains: [domain],
  idp,
  ...extra,
});
const oidc = (issuer: string, extra: Record<string, unknown> = {}) => ({ kind: 'oidc', issuer, clientId: 'client', clientSecret: 'shh', ...extra });
const minimal = (extra: Record<string, unknown> = {}) => ({
  server: { publicUrl: 'https://auth.example.com' },
  tenants: [tenant('contoso', 'contoso.com')],
  ...extra,
});

describe('loadConfig reports every problem at once, each with its path', () => {
  const yaml = `
server:
  publicUrl: http://auth.example.com
  colour: blue
enrollmentServers:
  - { id: mdm, secret: "\${MDM_SECRET}" }
tenants:
  - id: contoso
    displayName: Contoso
    domains: [contoso.com]
    idp: { kind: oidc, issuer: "https://login.example.com/contoso", clientId: c, clientSecret: "\${CONTOSO_SECRET}" }
  - id: fabrikam
    displayName: Fabrikam
    domains: [fabrikam.com]
    idp: { kind: oidc, issuer: "http://idp.fabrikam.com", clientId: c, clientSecret: s }
  - id: copycat
    displayName: Copycat
    domains: [Contoso.COM]
    idp: { kind: local, users: [{ upn: a@copycat.com, passwordHash: "${HASH}" }] }
  - id: entra
    displayName: Entra
    domains: [entra.com]
    idp: { kind: oidc, issuer: "https://login.microsoftonline.com/{tenantid}/v2.0", clientId: c, clientSecret: s }
discovery:
  enrollmentServiceUrl: https://mdm.example.com/EnrollmentServer/Enrollment.svc
  enrollmentPolicyServiceUrl: https://policy.example.com/EnrollmentServer/Policy.svc
`;
  let list: string[];
  beforeAll(() => {
    list = problems(yaml, { MDM_SECRET: SECRET }, ['local']);
  });

  it('a missing ${ENV} variable, with the path of the value that uses it', () => {
    expect(list).toContain('tenants[0].idp.clientSecret: environment variable CONTOSO_SECRET is not set');
  });
  it('an http:// publicUrl on a non-loopback host', () => {
    expect(list).toContainEqual(expect.stringMatching(/^server\.publicUrl: must use https:\/\//));
  });
  it('an unknown key, named in its path', () => {
    expect(list).toContain('server.colour: unknown key');
  });
  it('an http:// issuer on a non-loopback host (tenants[1].idp.issuer)', () => {
    expect(list).toContainEqual(expect.stringMatching(/^tenants\[1\]\.idp\.issuer: must use https:\/\//));
  });
  it('a domain owned by two tenants (case-insensitive), even with schema errors elsewhere', () => {
    expect(list).toContain('tenants[2].domains[0]: contoso.com already belongs to tenant contoso');
  });
  it('discovery services on different hosts', () => {
    expect(list).toContainEqual(expect.stringMatching(/^discovery\.enrollmentPolicyServiceUrl: must be on the same host/));
  });
  it('a multi-tenant issuer without allowedTenantIds', () => {
    expect(list).toContainEqual(expect.stringMatching(/^tenants\[3\]\.idp\.allowedTenantIds: a multi-tenant issuer/));
  });
  it('an upstream kind this build does not implement (also where the idp has other errors)', () => {
    for (const i of [0, 1, 3]) expect(list).toContain(`tenants[${i}].idp.kind: oidc is not available in this version (available: local)`);
  });
  it('every line starts with a path', () => {
    for (const p of list) expect(p).toMatch(/^[A-Za-z_][\w.[\]]*: /);
  });
  it('the error message lists them all', () => {
    try {
      load(yaml, { MDM_SECRET: SECRET }, ['local']);
    } catch (err) {
      for (const p of list) expect((err as Error).message).toContain(p);
    }
  });
});

describe('URLs: https://, or http:// only on loopback', () => {
  it.each(['http://127.0.0.1:9000', 'http://127.0.0.2', 'http://localhost:5556/dex', 'http://[::1]:8443'])('http issuer %s is allowed', (issuer) => {
    const cfg = load(minimal({ tenants: [tenant('contoso', 'contoso.com', oidc(issuer))] }));
    expect(cfg.tenants[0].idp).toMatchObject({ kind: 'oidc', issuer });
  });

  it.each(['http://idp.example.com', 'http://10.0.0.1', 'http://127.0.0.1.nip.io', 'http://localhost.evil.example', 'http://0.0.0.0'])(
    'http issuer %s is refused',
    (issuer) => {
      expect(problems(minimal({ tenants: [tenant('contoso', 'contoso.com', oidc(issuer))] }))).toContainEqual(
        expect.stringMatching(/^tenants\[0\]\.idp\.issuer: must use https:\/\/ \(http:\/\/ only on a loopback host\)/),
      );
    },
  );

  it('ftp:// and relative issuers are refused', () => {
    expect(problems(minimal({ tenants: [tenant('a', 'a.com', oidc('ftp://idp.example.com')), tenant('b', 'b.com', oidc('/relative'))] }))).toEqual([
      'tenants[0].idp.issuer: must be an https:// URL',
      'tenants[1].idp.issuer: is not an absolute URL',
    ]);
  });

  it('appru.allow: http:// on a non-loopback host is refused, https:// and loopback http:// are allowed', () => {
    expect(problems(minimal({ appru: { allow: ['http://device.example.com/cb'] } }))).toEqual([
      'appru.allow[0]: must use https:// (http:// only on a loopback host)',
    ]);
    const cfg = load(minimal({ appru: { allow: ['https://device.example.com/cb', 'http://127.0.0.1:9/cb'] } }));
    expect(cfg.appru.allow).toEqual(['https://device.example.com/cb', 'http://127.0.0.1:9/cb']);
  });

  it('appru.schemes accepts only ms-app:', () => {
    expect(problems(minimal({ appru: { schemes: ['https:'] } }))[0]).toMatch(/^appru\.schemes\[0\]: /);
  });

  it('saml and wsfed metadata URLs over http:// on a non-loopback host are refused', () => {
    const list = problems(
      minimal({
        tenants: [
          tenant('a', 'a.com', { kind: 'saml', metadataUrl: 'http://adfs.example.com/metadata' }),
          tenant('b', 'b.com', { kind: 'wsfed', metadataUrl: 'http://adfs.example.com/fm.xml', realm: 'urn:x' }),
        ],
      }),
    );
    expect(list).toContainEqual(expect.stringMatching(/^tenants\[0\]\.idp\.metadataUrl: must use https/));
    expect(list).toContainEqual(expect.stringMatching(/^tenants\[1\]\.idp\.metadataUrl: must use https/));
  });

  it('publicUrl must not end with a slash', () => {
    expect(problems(minimal({ server: { publicUrl: 'https://auth.example.com/' } }))).toEqual(['server.publicUrl: must not end with a slash']);
  });

  it('publicUrl is kept exactly as written (it is the token issuer)', () => {
    expect(load(minimal({ server: { publicUrl: 'https://Auth.Example.com/fedbridge' } })).server.publicUrl).toBe('https://Auth.Example.com/fedbridge');
  });
});

describe('${ENV} substitution', () => {
  it('substitutes whole values and parts of values', () => {
    const cfg = load(
      `server: { publicUrl: "https://\${AUTH_HOST}" }
enrollmentServers: [{ id: mdm, secret: "\${MDM_SECRET}" }]
admin: { token: "admin-\${ADMIN_TAIL}" }
`,
      { AUTH_HOST: 'auth.example.com', MDM_SECRET: SECRET, ADMIN_TAIL: '0123456789abcdef' },
    );
    expect(cfg.server.publicUrl).toBe('https://auth.example.com');
    expect(cfg.enrollmentServers[0].secret).toBe(SECRET);
    expect(cfg.admin?.token).toBe('admin-0123456789abcdef');
  });

  it('a missing variable is reported with its path', () => {
    expect(problems({ enrollmentServers: [{ id: 'a', secret: SECRET }, { id: 'b', secret: '${B_SECRET}' }] })).toContain(
      'enrollmentServers[1].secret: environment variable B_SECRET is not set',
    );
  });

  it('substituted values are validated like written ones', () => {
    expect(problems({ server: { publicUrl: '${URL}' } }, { URL: 'http://auth.example.com' })).toEqual([
      'server.publicUrl: must use https:// (http:// only on a loopback host)',
    ]);
  });

  it('a value that only looks like a variable is left alone', () => {
    expect(load({ enrollmentServers: [{ id: 'mdm', secret: '$NOT_A_VAR-0123456789' }] }).enrollmentServers[0].secret).toBe('$NOT_A_VAR-0123456789');
  });
});

describe('unknown keys are refused', () => {
  it('at the root', () => {
    expect(problems({ tenant: [] })).toEqual(['tenant: unknown key']);
  });
  it('inside a tenant and its idp', () => {
    expect(problems(minimal({ tenants: [{ ...tenant('contoso', 'contoso.com', { ...localIdp, issuer: 'x' }), colour: 'red' }] }))).toEqual(
      expect.arrayContaining(['tenants[0].colour: unknown key', 'tenants[0].idp.issuer: unknown key']),
    );
  });
  it('in limits (a typo does not silently keep the default)', () => {
    expect(problems({ limits: { passwordsPerUser: 3 } })).toEqual(['limits.passwordsPerUser: unknown key']);
  });
});

describe('demo mode', () => {
  it('no file: demo on, loopback, the demo tenant and client', () => {
    const cfg = loadConfig(undefined, { PORT: '8181' });
    expect(cfg.demo).toBe(true);
    expect(cfg.source).toBeNull();
    expect(cfg.server).toMatchObject({ host: '127.0.0.1', port: 8181, publicUrl: 'http://127.0.0.1:8181' });
    expect(cfg.tenants.map((t) => t.domains)).toEqual([['example.com']]);
    expect(cfg.enrollmentServers.map((c) => c.id)).toEqual(['demo']);
    expect(cfg.tokens.audience).toBe('urn:fedbridge:demo');
  });

  it.each(['0.0.0.0', '192.168.1.10', '::'])('refuses the non-loopback HOST %s', (host) => {
    expect(() => loadConfig(undefined, { HOST: host })).toThrow(/HOST: demo mode only listens on a loopback address/);
  });

  it('accepts HOST=::1 and brackets it in publicUrl', () => {
    expect(loadConfig(undefined, { HOST: '::1', PORT: '8080' }).server.publicUrl).toBe('http://[::1]:8080');
  });

  it('a config file is never demo mode, even an empty one: it is refused (issue #10)', () => {
    for (const text of ['', '# only a comment\n', '---\n']) {
      expect(problems(text)).toEqual([expect.stringMatching(/^\(root\): .*config-\d+\.yaml is empty; write the configuration/)]);
    }
    // A file with something in it but no tenants is valid, with a warning.
    const cfg = load({ server: { publicUrl: 'https://auth.example.com' } });
    expect(cfg.demo).toBe(false);
    expect(cfg.tenants).toEqual([]);
    expect(cfg.warnings).toEqual(['tenants: none configured; nobody can sign in until a tenant is added']);
  });

  it('a config file is never demo mode, even with the demo domain', () => {
    const cfg = load(minimal({ tenants: [tenant('demo', 'example.com', { kind: 'local', users: [{ upn: 'ann@example.com', passwordHash: HASH }] })] }));
    expect(cfg.demo).toBe(false);
    expect(cfg.appru.allow).toEqual([]);
  });
});

describe('PORT and HOST apply only where the file leaves them out', () => {
  it('the file wins over PORT and HOST', () => {
    const cfg = load({ server: { port: 9000, host: '127.0.0.2' } }, { PORT: '1234', HOST: '127.0.0.3' });
    expect(cfg.server).toMatchObject({ port: 9000, host: '127.0.0.2', publicUrl: 'http://127.0.0.2:9000' });
  });

  it('PORT and HOST fill what the file leaves out', () => {
    expect(load({ server: { host: '127.0.0.2' } }, { PORT: '1234', HOST: '127.0.0.3' }).server).toMatchObject({ port: 1234, host: '127.0.0.2' });
    expect(load({ server: { port: 9000 } }, { PORT: '1234', HOST: '127.0.0.3' }).server).toMatchObject({ port: 9000, host: '127.0.0.3' });
  });

  it('defaults: 127.0.0.1:8080', () => {
    expect(load({}).server).toMatchObject({ port: 8080, host: '127.0.0.1', publicUrl: 'http://127.0.0.1:8080', trustProxy: false });
  });

  it('a non-loopback HOST from the environment needs publicUrl in the file', () => {
    expect(problems({}, { HOST: '0.0.0.0' })).toEqual(['server.publicUrl: required when server.host is not a loopback address']);
    expect(load({ server: { publicUrl: 'https://auth.example.com' } }, { HOST: '0.0.0.0' }).server).toMatchObject({
      host: '0.0.0.0',
      publicUrl: 'https://auth.example.com',
    });
  });

  it('a PORT that is not a number is refused', () => {
    expect(problems({}, { PORT: 'eighty' })).toEqual(['PORT: eighty is not a port number']);
  });

  it('server.port out of range is refused with its path', () => {
    expect(problems({ server: { port: 70000 } })[0]).toMatch(/^server\.port: /);
  });
});

describe('log level', () => {
  it('FEDBRIDGE_LOG_LEVEL sets the level', () => {
    expect(load({}, { FEDBRIDGE_LOG_LEVEL: 'debug' }).log.level).toBe('debug');
  });
  it('an unknown FEDBRIDGE_LOG_LEVEL is a configuration problem, not a crash at start', () => {
    expect(problems({}, { FEDBRIDGE_LOG_LEVEL: 'verbose' })).toEqual([expect.stringMatching(/^FEDBRIDGE_LOG_LEVEL: must be one of/)]);
  });
});

describe('tenants and upstreams', () => {
  it('oidc with a multi-tenant issuer needs allowedTenantIds', () => {
    const issuer = 'https://login.microsoftonline.com/{tenantid}/v2.0';
    expect(problems(minimal({ tenants: [tenant('contoso', 'contoso.com', oidc(issuer))] }))).toEqual([
      expect.stringMatching(/^tenants\[0\]\.idp\.allowedTenantIds: /),
    ]);
    const ok = load(minimal({ tenants: [tenant('contoso', 'contoso.com', oidc(issuer, { allowedTenantIds: ['1b2c'] }))] }));
    expect(ok.tenants[0].idp).toMatchObject({ allowedTenantIds: ['1b2c'] });
  });

  it('the organizations and common discovery paths of Entra also need allowedTenantIds', () => {
    for (const issuer of ['https://login.microsoftonline.com/organizations/v2.0', 'https://login.microsoftonline.com/common/v2.0']) {
      expect(problems(minimal({ tenants: [tenant('contoso', 'contoso.com', oidc(issuer))] }))).toEqual([
        expect.stringMatching(/^tenants\[0\]\.idp\.allowedTenantIds: /),
      ]);
    }
    // A single-tenant issuer needs no list: the issuer itself pins the directory.
    const single = load(minimal({ tenants: [tenant('contoso', 'contoso.com', oidc('https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0'))] }));
    expect(single.tenants[0].idp).toMatchObject({ allowedTenantIds: [] });
  });

  it('oidc needs a client secret unless it uses private_key_jwt', () => {
    const noSecret = { kind: 'oidc', issuer: 'https://idp.example.com', clientId: 'c' };
    expect(problems(minimal({ tenants: [tenant('contoso', 'contoso.com', noSecret)] }))).toEqual([
      'tenants[0].idp.clientSecret: required for client_secret_basic',
    ]);
    expect(load(minimal({ tenants: [tenant('contoso', 'contoso.com', { ...noSecret, tokenEndpointAuthMethod: 'private_key_jwt' })] })).tenants).toHaveLength(1);
  });

  it('an upstream kind not implemented by this build is refused when kinds is passed', () => {
    const saml = { kind: 'saml', metadataUrl: 'https://adfs.example.com/metadata' };
    expect(problems(minimal({ tenants: [tenant('contoso', 'contoso.com', saml)] }), {}, ['local', 'oidc'])).toEqual([
      'tenants[0].idp.kind: saml is not available in this version (available: local, oidc)',
    ]);
    expect(load(minimal({ tenants: [tenant('contoso', 'contoso.com', saml)] })).tenants[0].idp.kind).toBe('saml');
  });

  it('an unknown upstream kind is refused with its path', () => {
    expect(problems(minimal({ tenants: [tenant('contoso', 'contoso.com', { kind: 'magic' })] }), {}, ['local'])).toEqual([
      expect.stringMatching(/^tenants\[0\]\.idp\.kind: /),
    ]);
  });

  it('a saml IdP needs metadataUrl or metadataFile', () => {
    expect(problems(minimal({ tenants: [tenant('contoso', 'contoso.com', { kind: 'saml' })] }))).toEqual(['tenants[0].idp: a saml IdP needs metadataUrl or metadataFile']);
  });

  it('a local user needs a hash from `fedbridge user hash-password`, not a password', () => {
    const idp = { kind: 'local', users: [{ upn: 'ann@contoso.com', passwordHash: 'hunter2' }] };
    expect(problems(minimal({ tenants: [tenant('contoso', 'contoso.com', idp)] }))).toEqual([
      expect.stringMatching(/^tenants\[0\]\.idp\.users\[0\]\.passwordHash: must be a complete hash from `fedbridge user hash-password`/),
    ]);
  });

  it('the local IdP cannot require MFA', () => {
    expect(problems(minimal({ tenants: [tenant('contoso', 'contoso.com', localIdp, { policy: { requireMfa: true } })] }))).toEqual([
      'tenants[0].policy.requireMfa: the local IdP cannot do MFA',
    ]);
  });

  it('duplicate tenant ids and malformed ids and domains', () => {
    const idp = oidc('https://idp.example.com');
    const tenants = [tenant('contoso', 'a.com', idp), tenant('contoso', 'b.com', idp), tenant('Bad_Id', 'c.com', idp), tenant('d', 'not a domain', idp)];
    expect(problems(minimal({ tenants }))).toEqual([
      'tenants[2].id: must be lower-case letters, digits and dashes',
      'tenants[3].domains[0]: is not a domain name',
      'tenants[1].id: duplicate tenant id contoso',
    ]);
  });

  it('domains are lower-cased', () => {
    expect(load(minimal({ tenants: [tenant('contoso', 'Contoso.COM')] })).tenants[0].domains).toEqual(['contoso.com']);
  });

  it('a branding colour that is not a hex colour is refused', () => {
    expect(problems(minimal({ tenants: [tenant('contoso', 'contoso.com', localIdp, { branding: { primaryColor: 'red;}</style>' } })] }))).toEqual([
      'tenants[0].branding.primaryColor: must be a hex colour like #0067b8',
    ]);
  });
});

describe('enrollment servers, discovery, keys', () => {
  it('client secrets must be long, ids unique, tenants known', () => {
    expect(
      problems(
        minimal({
          enrollmentServers: [
            { id: 'mdm', secret: 'short' },
            { id: 'mdm', secret: SECRET, tenants: ['contoso', 'nobody'] },
          ],
        }),
      ),
    ).toEqual([
      'enrollmentServers[1].tenants[1]: no tenant with id nobody',
      'enrollmentServers[0].secret: must be at least 16 characters (use a random value)',
      'enrollmentServers[1].id: duplicate client id mdm',
    ]);
  });

  it('discovery on one host is accepted', () => {
    const cfg = load(
      minimal({
        discovery: {
          enrollmentServiceUrl: 'https://mdm.example.com/EnrollmentServer/Enrollment.svc',
          enrollmentPolicyServiceUrl: 'https://mdm.example.com/EnrollmentServer/Policy.svc',
        },
      }),
    );
    expect(cfg.discovery?.enrollmentVersion).toBeUndefined();
  });

  it('keys.algorithm accepts ES256, RS256, PS256, EdDSA only', () => {
    for (const algorithm of ['ES256', 'RS256', 'PS256', 'EdDSA']) expect(load({ keys: { algorithm } }).keys.algorithm).toBe(algorithm);
    expect(problems({ keys: { algorithm: 'HS256' } })[0]).toMatch(/^keys\.algorithm: /);
  });

  it('tokens.ttlSeconds is bounded', () => {
    expect(problems({ tokens: { ttlSeconds: 86400 } })[0]).toMatch(/^tokens\.ttlSeconds: /);
  });

  it('a redis store needs a redis:// URL', () => {
    expect(problems({ store: { kind: 'redis', url: 'http://127.0.0.1:6379' } })).toEqual(['store.url: must be a redis:// URL']);
  });
});

describe('files', () => {
  it('a JSON file is read as JSON', () => {
    const cfg = load(minimal(), {}, undefined, 'json');
    expect(cfg.tenants[0].id).toBe('contoso');
  });

  it('a missing file is one clear problem', () => {
    expect(() => loadConfig(join(dir, 'nope.yaml'), {})).toThrow(/cannot read .*nope\.yaml/);
  });

  it('a YAML syntax error is one clear problem', () => {
    expect(() => load('tenants: [\n  - id: "unterminated\n')).toThrow(ConfigError);
    expect(problems('tenants: [\n  - id: "unterminated\n')[0]).toMatch(/^cannot parse /);
  });

  it('a file that is not a mapping is refused', () => {
    expect(problems('- just\n- a list\n')[0]).toMatch(/^\(root\): /);
  });

  it('a YAML file with a key written twice is refused (the second tenants: would silently win)', () => {
    expect(problems('tenants: []\nlimits: { authPerIp: 5 }\ntenants: []\n')[0]).toMatch(/^cannot parse .*unique/i);
  });

  it('a YAML alias bomb is refused quickly, not expanded', () => {
    const bomb = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]'];
    for (let i = 1; i < 12; i++) bomb.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(10).fill(`*${String.fromCharCode(96 + i)}`).join(',')}]`);
    const started = Date.now();
    const list = problems(bomb.join('\n') + '\n');
    expect(Date.now() - started).toBeLessThan(2000);
    expect(list[0]).toMatch(/^cannot parse .*alias/i);
  });

  it('a JSON __proto__ key is an unknown key and pollutes nothing', () => {
    const path = join(dir, 'proto.json');
    writeFileSync(path, '{"__proto__": {"demo": true, "polluted": 1}, "tenants": []}');
    expect(() => loadConfig(path, {})).toThrow(/__proto__: unknown key/);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
