/**
 * The deployment files (docs/deployment.md) as far as this machine can check them: no container
 * engine, nginx or systemd init runs here. Each file is read and checked against the repository
 * and the others (test/deploy/checks.ts); a broken copy of each file is shown to be caught.
 * The example configs pass `fedbridge config check`, and the unit passes `systemd-analyze verify`
 * where that tool is installed.
 */
import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { DRAIN_DEFAULTS } from '../../src/observability/drain.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { run } from '../cli/run.js';
import {
  composeProblems,
  dockerfileProblems,
  dockerignoreMatcher,
  dockerignoreProblems,
  durationSeconds,
  envNames,
  instanceNames,
  nginxProblems,
  parseDockerfile,
  rotationProblems,
  timespanSeconds,
  unitProblems,
  type ComposeFacts,
  type DeployFacts,
} from './checks.js';

const ROOT = join(import.meta.dirname, '..', '..');
const DEPLOY = join(ROOT, 'deploy');
const read = (p: string) => readFileSync(join(ROOT, p), 'utf8');

const DOCKERFILE = read('Dockerfile');
const DOCKERIGNORE = read('.dockerignore');
const COMPOSE_TEXT = read('deploy/compose.yaml');
const COMPOSE = parse(COMPOSE_TEXT, { merge: true }) as Record<string, unknown>;
const NGINX = read('deploy/nginx.conf');
const UNIT = read('deploy/fedbridge.service');
const ROTATE = read('deploy/fedbridge-keys-rotate.service');
const TIMER = read('deploy/fedbridge-keys-rotate.timer');
const SINGLE_TEXT = read('deploy/fedbridge.yaml');
const SINGLE = parse(SINGLE_TEXT) as Record<string, any>;
const MULTI_FILE = join(DEPLOY, 'config', 'fedbridge.yaml');
const MULTI_TEXT = read('deploy/config/fedbridge.yaml');
const MULTI = parse(MULTI_TEXT) as Record<string, any>;
const PKG = JSON.parse(read('package.json')) as { files: string[]; dependencies: Record<string, string> };

/** The longest a SIGTERM drain takes: the announcement, then the bound for requests in flight. */
const DRAIN_SECONDS = (DRAIN_DEFAULTS.announceMs + DRAIN_DEFAULTS.boundMs) / 1000;

/** The image reads its config where its CMD says; compose mounts the instances' config there. */
const CONFIG_PATH = '/etc/fedbridge/fedbridge.yaml';

const DOCKER_FACTS: DeployFacts = {
  root: ROOT,
  packageFiles: PKG.files,
  configPath: CONFIG_PATH,
  port: SINGLE.server.port,
  volumes: [SINGLE.keys.dir, dirname(SINGLE.store.path)],
  hostFromEnv: SINGLE.server.host === undefined,
};

const COMPOSE_FACTS: ComposeFacts = { dir: DEPLOY, configPath: CONFIG_PATH, config: MULTI, configFile: MULTI_FILE, configText: MULTI_TEXT, drainSeconds: DRAIN_SECONDS };

/** Replaces `from` (which must occur) with `to`. */
function edit(text: string, from: string | RegExp, to: string): string {
  const out = text.replace(from, to);
  expect(out, `the mutation ${String(from)} must change the text`).not.toBe(text);
  return out;
}

describe('the example configs agree with each other', () => {
  it('both listen on one port, keep keys and data in the image\'s volumes, and trust the proxy', () => {
    expect(MULTI.server.port).toBe(SINGLE.server.port);
    expect(MULTI.keys.dir).toBe(SINGLE.keys.dir);
    expect(SINGLE.store.kind).toBe('sqlite');
    expect(MULTI.store.kind).toBe('redis');
    expect(SINGLE.server.trustProxy).toBe(true);
    expect(MULTI.server.trustProxy).toBe(true);
    // In a container, loopback is unreachable from the proxy: the compose config says 0.0.0.0,
    // the single one leaves it to the image's HOST (checked with the Dockerfile below).
    expect(MULTI.server.host).toBe('0.0.0.0');
    expect(SINGLE.server.host).toBeUndefined();
  });
});

describe('Dockerfile', () => {
  it('is sound: two stages, npm ci in the build, pruned deps, non-root USER, the README command, /healthz, volumes', () => {
    const { stages } = parseDockerfile(DOCKERFILE);
    expect(stages.map((s) => s.name)).toEqual(['build', 'runtime']);
    expect(stages[0].base).toBe('node:20-bookworm-slim'); // the ARG default, substituted
    expect(dockerfileProblems(DOCKERFILE, DOCKER_FACTS, DOCKERIGNORE)).toEqual([]);
  });

  it('the files the build copies exist: bin/fedbridge.js, views, package-lock.json', () => {
    for (const p of ['bin/fedbridge.js', 'views/locales/en.json', 'package-lock.json', 'tsconfig.build.json']) expect(existsSync(join(ROOT, p)), p).toBe(true);
  });

  const broken: Array<[string, (t: string) => string, RegExp]> = [
    ['USER root', (t) => edit(t, /^USER .*$/m, 'USER root'), /runs as root/],
    ['USER 0:0', (t) => edit(t, /^USER .*$/m, 'USER 0:0'), /runs as 0:0/],
    ['no USER', (t) => edit(t, /^USER .*\n/m, ''), /no USER/],
    ['one stage', (t) => edit(t, /^FROM \$\{NODE_IMAGE\} AS runtime$[\s\S]*$/m, ''), /two stages/],
    ['no npm ci', (t) => edit(t, 'npm ci --no-audit', 'npm install --no-audit'), /runs `npm ci`/],
    ['npm ci without scripts', (t) => edit(t, 'npm ci --no-audit', 'npm ci --ignore-scripts --no-audit'), /install scripts/],
    ['dev deps kept', (t) => edit(t, /\s*&& npm prune --omit=dev --no-audit --no-fund/, ''), /dev dependencies/],
    ['runtime copies the context', (t) => edit(t, 'COPY --from=build /src/views ./views', 'COPY views ./views'), /from the build context/],
    ['runtime installs', (t) => edit(t, 'WORKDIR /app\n', 'WORKDIR /app\nRUN npm ci --omit=dev\n'), /installs packages/],
    ['views not copied', (t) => edit(t, /^COPY --from=build \/src\/views.*\n/m, ''), /does not copy views/],
    ['shell-form CMD', (t) => edit(t, /^CMD .*$/m, 'CMD serve --config /etc/fedbridge/fedbridge.yaml'), /exec form/],
    ['another bin', (t) => edit(t, '"/app/bin/fedbridge.js"', '"/app/bin/fedbridge.mjs"'), /does not exist/],
    ['not serve', (t) => edit(t, '"serve", ', '"start", '), /not the README's/],
    ['another config path', (t) => edit(t, /^CMD .*$/m, 'CMD ["serve", "--config", "/config.yaml"]'), /not the README's/],
    ['healthcheck elsewhere', (t) => edit(t, "8080/healthz'", "8080/health'"), /HEALTHCHECK/],
    ['no keys volume', (t) => edit(t, '"/var/lib/fedbridge/keys", ', ''), /keys is not a VOLUME/],
    ['no HOST', (t) => edit(t, /^\s*HOST=0\.0\.0\.0 \\\n/m, ''), /sets HOST=\(nothing\)/],
    ['HOST on loopback', (t) => edit(t, 'HOST=0.0.0.0', 'HOST=127.0.0.1'), /sets HOST=127\.0\.0\.1/],
    ['a missing source', (t) => edit(t, 'COPY views ./views', 'COPY templates ./views'), /COPY templates: not in the repository/],
  ];
  it.each(broken)('catches a broken Dockerfile: %s', (_what, mutate, expected) => {
    const problems = dockerfileProblems(mutate(DOCKERFILE), DOCKER_FACTS, DOCKERIGNORE);
    expect(problems.join('\n')).toMatch(expected);
  });

  it('catches a build source that .dockerignore leaves out', () => {
    expect(dockerfileProblems(DOCKERFILE, DOCKER_FACTS, `${DOCKERIGNORE}\nviews\n`).join('\n')).toMatch(/COPY views: excluded by \.dockerignore/);
  });
});

describe('.dockerignore', () => {
  it('keeps keys, data, node_modules, dist, .git and env files out of the build context, and the sources in', () => {
    expect(dockerignoreProblems(DOCKERIGNORE)).toEqual([]);
    const ignored = dockerignoreMatcher(DOCKERIGNORE);
    for (const p of ['src/cli/main.ts', 'bin/fedbridge.js', 'views/layout.eta', 'package-lock.json', 'tsconfig.build.json']) expect(ignored(p), p).toBe(false);
  });

  it('catches a .dockerignore that lets the keys in', () => {
    expect(dockerignoreProblems(edit(DOCKERIGNORE, /^keys\n/m, ''))).toEqual(['keys/abc.json would be sent into the build context']);
  });

  it('matches as Docker does: directories cover their contents, `*` one segment, `!` re-includes', () => {
    const m = dockerignoreMatcher('keys\n*.log\n**/secret*\n!keys/README.md\n');
    expect([m('keys/a.json'), m('keys'), m('keysmith'), m('a.log'), m('x/a.log'), m('x/y/secret.txt'), m('keys/README.md')]).toEqual([true, true, false, true, false, true, false]);
  });
});

describe('deploy/compose.yaml', () => {
  it('is sound: Redis with AOF, two read-only instances sharing Redis and one keys volume, nginx in front', () => {
    expect(instanceNames(COMPOSE)).toEqual(['fedbridge-a', 'fedbridge-b']);
    expect(composeProblems(COMPOSE, COMPOSE_FACTS)).toEqual([]);
  });

  it('gives the instances exactly the variables their config needs', () => {
    const env = (COMPOSE.services as any)['fedbridge-a'].environment as Record<string, string>;
    expect(Object.keys(env).sort()).toEqual([...envNames(MULTI_TEXT)].sort());
  });

  const broken: Array<[string, (doc: any) => void, RegExp]> = [
    ['appendonly no', (d) => (d.services.redis.command[2] = 'no'), /--appendonly yes/],
    ['no Redis volume', (d) => (d.services.redis.volumes = []), /\/data \(the AOF\)/],
    ['one instance', (d) => delete d.services['fedbridge-b'], /two Fedbridge instances/],
    ['separate keys volumes', (d) => {
      d.volumes['keys-b'] = {};
      d.services['fedbridge-b'] = { ...d.services['fedbridge-b'], volumes: [d.services['fedbridge-b'].volumes[0], 'keys-b:/var/lib/fedbridge/keys'] };
    }, /different keys volumes/],
    ['keys on a bind mount', (d) => (d.services['fedbridge-a'] = { ...d.services['fedbridge-a'], volumes: [d.services['fedbridge-a'].volumes[0], './keys:/var/lib/fedbridge/keys'] }), /not a named volume/],
    ['writable root', (d) => (d.services['fedbridge-a'] = { ...d.services['fedbridge-a'], read_only: false }), /fedbridge-a: read_only/],
    ['no tmpfs', (d) => (d.services['fedbridge-b'] = { ...d.services['fedbridge-b'], tmpfs: [] }), /no tmpfs/],
    ['a published instance', (d) => (d.services['fedbridge-a'] = { ...d.services['fedbridge-a'], ports: ['8080:8080'] }), /publishes ports/],
    ['a variable missing', (d) => {
      const { OIDC_CLIENT_SECRET: _gone, ...env } = d.services['fedbridge-a'].environment;
      d.services['fedbridge-a'] = { ...d.services['fedbridge-a'], environment: env };
    }, /OIDC_CLIENT_SECRET/],
    ['default stop timeout', (d) => {
      const { stop_grace_period: _gone, ...rest } = d.services['fedbridge-a'];
      d.services['fedbridge-a'] = rest;
    }, /stop_grace_period 10s/],
    ['no proxy', (d) => delete d.services.proxy, /one proxy service/],
    ['proxy config missing', (d) => (d.services.proxy.volumes[0] = './missing.conf:/etc/nginx/nginx.conf:ro'), /missing\.conf is not a file/],
    ['config not mounted', (d) => (d.services['fedbridge-a'] = { ...d.services['fedbridge-a'], volumes: [d.services['fedbridge-a'].volumes[1]] }), /nothing is mounted at \/etc\/fedbridge/],
    ['config file mounted, not its folder', (d) => (d.services['fedbridge-a'] = { ...d.services['fedbridge-a'], volumes: ['./config/fedbridge.yaml:/etc/fedbridge/fedbridge.yaml:ro', d.services['fedbridge-a'].volumes[1]] }), /mount the folder \/etc\/fedbridge, not the file/],
    ['config mounted writable', (d) => (d.services['fedbridge-b'] = { ...d.services['fedbridge-b'], volumes: ['./config:/etc/fedbridge', d.services['fedbridge-b'].volumes[1]] }), /fedbridge-b: the config is not mounted read-only/],
    ['another folder', (d) => (d.services['fedbridge-b'] = { ...d.services['fedbridge-b'], volumes: ['./tls:/etc/fedbridge:ro', d.services['fedbridge-b'].volumes[1]] }), /holds no fedbridge\.yaml/],
  ];
  it.each(broken)('catches a broken compose file: %s', (_what, mutate, expected) => {
    const doc = parse(COMPOSE_TEXT, { merge: true });
    mutate(doc);
    expect(composeProblems(doc, COMPOSE_FACTS).join('\n')).toMatch(expected);
  });

  it('catches an instances\' config without trustProxy or with another store', () => {
    const noProxy = { ...MULTI, server: { ...MULTI.server, trustProxy: false } };
    expect(composeProblems(COMPOSE, { ...COMPOSE_FACTS, config: noProxy }).join('\n')).toMatch(/trustProxy/);
    const sqlite = { ...MULTI, store: { kind: 'sqlite', path: '/var/lib/fedbridge/data/x.db' } };
    expect(composeProblems(COMPOSE, { ...COMPOSE_FACTS, config: sqlite }).join('\n')).toMatch(/Redis store/);
    const elsewhere = { ...MULTI, store: { kind: 'redis', url: 'redis://cache:6379' } };
    expect(composeProblems(COMPOSE, { ...COMPOSE_FACTS, config: elsewhere }).join('\n')).toMatch(/points at cache, not the redis service/);
  });

  it('reads compose durations', () => {
    expect([durationSeconds('30s'), durationSeconds('1m30s'), durationSeconds('500ms'), durationSeconds(5), durationSeconds('soon')]).toEqual([30, 90, 0.5, 5, null]);
  });
});

describe('deploy/nginx.conf', () => {
  const upstreams = instanceNames(COMPOSE).map((n) => `${n}:${MULTI.server.port}`);

  it('proxies to both instances with X-Forwarded-For, -Proto and Host set, and terminates TLS', () => {
    expect(upstreams).toEqual(['fedbridge-a:8080', 'fedbridge-b:8080']);
    expect(nginxProblems(NGINX, upstreams)).toEqual([]);
  });

  const broken: Array<[string, (t: string) => string, RegExp]> = [
    ['client X-Forwarded-For passed on', (t) => edit(t, 'X-Forwarded-For $remote_addr', 'X-Forwarded-For $http_x_forwarded_for'), /X-Forwarded-For is \$http_x_forwarded_for/],
    ['no X-Forwarded-For', (t) => edit(t, /^\s*proxy_set_header X-Forwarded-For .*\n/m, ''), /X-Forwarded-For is not set/],
    // nginx's inheritance: a location with one proxy_set_header of its own inherits none.
    ['a location header hides the inherited ones', (t) => edit(t, 'proxy_pass http://fedbridge;', 'proxy_pass http://fedbridge;\n            proxy_set_header X-Debug 1;'), /X-Forwarded-For is not set/],
    ['one instance missing', (t) => edit(t, /^\s*server fedbridge-b:8080.*\n/m, ''), /servers fedbridge-a:8080, expected/],
    ['a wrong port', (t) => edit(t, 'fedbridge-a:8080', 'fedbridge-a:3000'), /expected fedbridge-a:8080/],
    ['proxy_pass elsewhere', (t) => edit(t, 'proxy_pass http://fedbridge;', 'proxy_pass http://127.0.0.1:8080;'), /not one of the upstream blocks/],
    ['no TLS', (t) => edit(t, 'listen 443 ssl;', 'listen 8443;'), /listen with ssl/],
    ['TLS on one listener only', (t) => edit(t, 'listen 443 ssl;', 'listen 443 ssl;\n        listen 8443;'), /listen with ssl/],
    ['no X-Forwarded-Proto', (t) => edit(t, /^\s*proxy_set_header X-Forwarded-Proto .*\n/m, ''), /X-Forwarded-Proto is not set/],
    ['unbalanced braces', (t) => edit(t, /}\s*$/, ''), /unclosed block/],
  ];
  it.each(broken)('catches a broken nginx.conf: %s', (_what, mutate, expected) => {
    expect(nginxProblems(mutate(NGINX), upstreams).join('\n')).toMatch(expected);
  });
});

describe('the example configs pass `fedbridge config check`', () => {
  /** Values of the right shape for every ${NAME} the files use (secrets ≥ 16 characters). */
  const ENV: Record<string, string> = {
    FEDBRIDGE_PUBLIC_URL: 'https://auth.contoso.com',
    MDM_INTROSPECT_SECRET: 'mdm-introspect-secret-0123456789',
    FEDBRIDGE_ADMIN_TOKEN: 'admin-token-0123456789abcdef',
    FEDBRIDGE_METRICS_TOKEN: 'metrics-token-0123456789abcdef',
    OIDC_ISSUER: 'https://login.microsoftonline.com/11111111-2222-3333-4444-555555555555/v2.0',
    OIDC_CLIENT_ID: '66666666-7777-8888-9999-000000000000',
    OIDC_CLIENT_SECRET: 'oidc-client-secret-0123456789',
    REDIS_PASSWORD: 'redis-password-0123456789',
  };

  it.each([['deploy/fedbridge.yaml', SINGLE_TEXT], ['deploy/config/fedbridge.yaml', MULTI_TEXT]])('%s: ok, without a warning', async (file, text) => {
    const env = Object.fromEntries([...envNames(text)].map((n) => [n, ENV[n]]));
    expect(Object.values(env).every((v) => v !== undefined), `a value for each of ${[...envNames(text)].join(', ')}`).toBe(true);
    const r = await run(['config', 'check', '--config', join(ROOT, file)], { env });
    expect(r.err).toBe('');
    expect(r.out).toBe(`ok: ${join(ROOT, file)}: 1 tenant(s), issuer https://auth.contoso.com\n`);
    expect(r.code).toBe(0);
  });

  it('refuses them when a variable is missing (the check reads the files, not the test)', async () => {
    const { OIDC_CLIENT_SECRET: _gone, ...env } = Object.fromEntries([...envNames(MULTI_TEXT)].map((n) => [n, ENV[n]]));
    const r = await run(['config', 'check', '--config', MULTI_FILE], { env });
    expect(r.code).toBe(1);
    expect(r.err).toContain('tenants[0].idp.clientSecret: environment variable OIDC_CLIENT_SECRET is not set');
  });
});

describe('deploy/fedbridge.service', () => {
  const facts = { config: SINGLE, drainSeconds: DRAIN_SECONDS };

  it('is sound: the README command, SIGHUP reload, non-root, hardened, writable keys and data, stop timeout over the drain', () => {
    expect(DRAIN_SECONDS).toBe(12);
    expect(unitProblems(UNIT, facts)).toEqual([]);
  });

  const broken: Array<[string, (t: string) => string, RegExp]> = [
    ['User=root', (t) => edit(t, 'User=fedbridge', 'User=root'), /User is root/],
    ['no User', (t) => edit(t, /^User=.*\n/m, ''), /User is missing/],
    ['another command', (t) => edit(t, 'fedbridge.js serve', 'fedbridge.js start'), /ExecStart/],
    ['no reload', (t) => edit(t, /^ExecReload=.*\n/m, ''), /ExecReload is missing/],
    ['stop timeout under the drain', (t) => edit(t, 'TimeoutStopSec=30', 'TimeoutStopSec=10s'), /TimeoutStopSec 10s/],
    ['keys not writable', (t) => edit(t, 'ReadWritePaths=/var/lib/fedbridge/keys ', 'ReadWritePaths='), /keys is not in ReadWritePaths/],
    ['ProtectSystem=full', (t) => edit(t, 'ProtectSystem=strict', 'ProtectSystem=full'), /ProtectSystem is full/],
    ['no NoNewPrivileges', (t) => edit(t, 'NoNewPrivileges=yes', 'NoNewPrivileges=no'), /NoNewPrivileges/],
    ['no PrivateTmp', (t) => edit(t, /^PrivateTmp=yes\n/m, ''), /PrivateTmp/],
    ['Restart=always', (t) => edit(t, 'Restart=on-failure', 'Restart=always'), /Restart is always/],
    ['W^X memory', (t) => edit(t, 'NoNewPrivileges=yes', 'NoNewPrivileges=yes\nMemoryDenyWriteExecute=yes'), /JIT/],
    ['no [Install]', (t) => edit(t, '[Install]', '[Instal]'), /no \[Install\]/],
  ];
  it.each(broken)('catches a broken unit: %s', (_what, mutate, expected) => {
    expect(unitProblems(mutate(UNIT), facts).join('\n')).toMatch(expected);
  });

  it('reads systemd time spans', () => {
    expect([timespanSeconds('30'), timespanSeconds('30s'), timespanSeconds('1min 30s'), timespanSeconds('2m'), timespanSeconds('forever')]).toEqual([30, 30, 90, 120, null]);
  });

  it('the quarterly key rotation runs `keys rotate` as the service does, and may write keys.dir', () => {
    expect(rotationProblems(ROTATE, TIMER, UNIT, facts)).toEqual([]);
  });

  const brokenRotation: Array<[string, () => [string, string], RegExp]> = [
    ['another config', () => [edit(ROTATE, '--config /etc/fedbridge/fedbridge.yaml', '--config /etc/fedbridge/other.yaml'), TIMER], /rotation ExecStart/],
    ['another user', () => [edit(ROTATE, 'User=fedbridge', 'User=root'), TIMER], /rotation User is root/],
    ['no environment', () => [edit(ROTATE, /^EnvironmentFile=.*\n/m, ''), TIMER], /rotation EnvironmentFile is missing/],
    ['keys read-only', () => [edit(ROTATE, /^ReadWritePaths=.*\n/m, ''), TIMER], /cannot write keys\.dir/],
    ['a monotonic timer', () => [ROTATE, edit(TIMER, /^OnCalendar=.*$/m, 'OnUnitActiveSec=90d')], /no OnCalendar/],
    ['not persistent', () => [ROTATE, edit(TIMER, 'Persistent=true', 'Persistent=false')], /not Persistent/],
  ];
  it.each(brokenRotation)('catches a broken rotation unit or timer: %s', (_what, files, expected) => {
    const [service, timer] = files();
    expect(rotationProblems(service, timer, UNIT, facts).join('\n')).toMatch(expected);
  });

  const analyze = '/usr/bin/systemd-analyze';
  const verify = async (text: string, others: Record<string, string> = {}) => {
    // ExecStart's node must exist for verify; where it lives elsewhere, check with this one.
    const fix = (t: string) => (existsSync('/usr/bin/node') ? t : t.replaceAll('/usr/bin/node', process.execPath));
    const dir = mkdtempSync(join(tmpdir(), 'fedbridge-unit-'));
    try {
      writeFileSync(join(dir, 'fedbridge.service'), fix(text));
      for (const [name, t] of Object.entries(others)) writeFileSync(join(dir, name), fix(t));
      const units = ['fedbridge.service', ...Object.keys(others)].map((n) => join(dir, n));
      const r = await promisify(execFile)(analyze, ['verify', '--man=no', ...units], { timeout: 20_000 }).then(
        ({ stdout, stderr }) => ({ code: 0, out: stdout + stderr }),
        (err: { code?: number; stdout?: string; stderr?: string }) => ({ code: err.code ?? 1, out: `${err.stdout ?? ''}${err.stderr ?? ''}` }),
      );
      return r;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };

  it.skipIf(!existsSync(analyze))('passes systemd-analyze verify without a word (skipped where /usr/bin/systemd-analyze is not installed)', async () => {
    expect(await verify(UNIT)).toEqual({ code: 0, out: '' });
    // The same run on a misspelt directive and a missing binary says so.
    expect((await verify(edit(UNIT, 'NoNewPrivileges=yes', 'NoNewPrivilege=yes'))).out).toMatch(/Unknown key 'NoNewPrivilege'/);
    const noNode = await verify(edit(UNIT, 'ExecStart=/usr/bin/node', 'ExecStart=/nonexistent/node'));
    expect(noNode.code).not.toBe(0);
    expect(noNode.out).toMatch(/\/nonexistent\/node is not executable/);
    const noSection = await verify(edit(UNIT, '[Service]', '[Servce]'));
    expect(noSection.code).not.toBe(0);
    // The rotation service and its timer, with the service they name.
    const rotation = { 'fedbridge-keys-rotate.service': ROTATE, 'fedbridge-keys-rotate.timer': TIMER };
    expect(await verify(UNIT, rotation)).toEqual({ code: 0, out: '' });
    expect((await verify(UNIT, { ...rotation, 'fedbridge-keys-rotate.timer': edit(TIMER, /^OnCalendar=.*$/m, 'OnCalendar=every quarter') })).out).toMatch(/Failed to parse calendar specification/);
  }, 60_000);
});

describe('the image runs with production dependencies only', () => {
  /** Every package the compiled code imports at run time (type-only imports vanish). */
  function runtimeImports(dir: string): Map<string, string> {
    const found = new Map<string, string>();
    const walk = (d: string) => {
      for (const name of readdirSync(d)) {
        const p = join(d, name);
        if (statSync(p).isDirectory()) walk(p);
        else if (p.endsWith('.ts') && !p.endsWith('.d.ts')) {
          const code = readFileSync(p, 'utf8');
          for (const m of code.matchAll(/^\s*import\s+(?!type\s)(?:[^'";]*?\sfrom\s+)?['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/gm)) {
            const spec = m[1] ?? m[2];
            if (spec.startsWith('.') || spec.startsWith('node:')) continue;
            found.set(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0], relative(ROOT, p));
          }
        }
      }
    };
    walk(dir);
    return found;
  }

  it('every package src/ imports is a dependency (npm prune --omit=dev keeps it) or a Node builtin', () => {
    const imports = runtimeImports(join(ROOT, 'src'));
    expect(imports.has('koa')).toBe(true); // the scan sees imports at all
    const missing = [...imports].filter(([pkg]) => !(pkg in PKG.dependencies) && !builtinModules.includes(pkg)).map(([pkg, file]) => `${pkg} (${file})`);
    expect(missing).toEqual([]);
  });
});

describe('docs/deployment.md', () => {
  it('lists every Fedbridge metric under "Metrics to alert on", and no other', async () => {
    const metrics = createMetrics(false);
    try {
      const names = (await metrics.registry.getMetricsAsJSON()).map((m) => m.name).sort();
      expect(names.length).toBeGreaterThan(5);
      const doc = read('docs/deployment.md');
      const section = doc.slice(doc.indexOf('## Metrics to alert on'));
      const listed = [...new Set([...section.matchAll(/`(fedbridge_[a-z_]+)`/g)].map((m) => m[1]))].sort();
      expect(listed).toEqual(names);
    } finally {
      metrics.close();
    }
  });
});
