/**
 * Readers and checks for the deployment files (docs/deployment.md): the Dockerfile, .dockerignore,
 * deploy/compose.yaml, deploy/nginx.conf and deploy/fedbridge.service. No container engine,
 * nginx or systemd runs here, so each file is read and its promises are checked against the
 * repository and against each other. Every check returns a list of problems ([] when sound), so
 * the tests can show that a broken copy of a file is caught.
 */
import { existsSync, statSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';

// ---------------------------------------------------------------------------------------------
// Dockerfile

export interface Instruction {
  cmd: string;
  /** The text after the instruction word, continuation lines joined. */
  rest: string;
}

export interface Stage {
  name: string | null;
  base: string;
  instructions: Instruction[];
}

/** Instructions, with `\` continuations joined and comment lines dropped (as BuildKit does). */
export function parseDockerfile(text: string): { args: Map<string, string>; stages: Stage[] } {
  const logical: string[] = [];
  let current = '';
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line.startsWith('#') || (line === '' && current === '')) continue;
    if (line.endsWith('\\')) {
      current += `${line.slice(0, -1)} `;
      continue;
    }
    current += line;
    if (current.trim()) logical.push(current.trim());
    current = '';
  }
  if (current.trim()) logical.push(current.trim());

  const args = new Map<string, string>();
  const stages: Stage[] = [];
  for (const l of logical) {
    const m = /^(\S+)\s*(.*)$/s.exec(l)!;
    const cmd = m[1].toUpperCase();
    const rest = m[2].trim();
    if (cmd === 'FROM') {
      const from = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(rest);
      const base = (from?.[1] ?? rest).replace(/\$\{?(\w+)\}?/g, (_s, n: string) => args.get(n) ?? '');
      stages.push({ name: from?.[2] ?? null, base, instructions: [] });
    } else if (stages.length === 0) {
      if (cmd === 'ARG') {
        const a = /^(\w+)(?:=(.*))?$/.exec(rest);
        if (a) args.set(a[1], a[2] ?? '');
      }
    } else {
      stages.at(-1)!.instructions.push({ cmd, rest });
    }
  }
  return { args, stages };
}

/** An exec-form (JSON array) argument list, or null for shell form. */
function execForm(rest: string): string[] | null {
  if (!rest.startsWith('[')) return null;
  try {
    const v = JSON.parse(rest) as unknown;
    return Array.isArray(v) && v.every((x) => typeof x === 'string') ? (v as string[]) : null;
  } catch {
    return null;
  }
}

/** COPY's flags, sources and destination (shell form; exec form for COPY is not used here). */
function copyParts(rest: string): { from: string | null; sources: string[]; dest: string } {
  const words = rest.split(/\s+/);
  let from: string | null = null;
  while (words[0]?.startsWith('--')) {
    const flag = words.shift()!;
    if (flag.startsWith('--from=')) from = flag.slice('--from='.length);
  }
  return { from, sources: words.slice(0, -1), dest: words.at(-1) ?? '' };
}

/** What the deployment files have to agree on, read from the example configs. */
export interface DeployFacts {
  /** The repository root (the build context). */
  root: string;
  /** package.json's `files`. */
  packageFiles: string[];
  /** Where the image runs the config from (the --config path in its command). */
  configPath: string;
  /** server.port of the example configs. */
  port: number;
  /** Directories that must be volumes: keys.dir and the SQLite file's directory. */
  volumes: string[];
  /** The config leaves server.host out: the image must set HOST to listen beyond loopback. */
  hostFromEnv: boolean;
}

const ROOT_USERS = /^(root|0)(:.*)?$/;

export function dockerfileProblems(text: string, facts: DeployFacts, dockerignore: string): string[] {
  const problems: string[] = [];
  const { stages } = parseDockerfile(text);
  if (stages.length < 2) return [`a multi-stage build needs two stages at least, found ${stages.length}`];
  const final = stages.at(-1)!;
  const earlier = stages.slice(0, -1);
  const byName = new Map(earlier.filter((s) => s.name).map((s) => [s.name!, s]));
  const runs = (s: Stage) => s.instructions.filter((i) => i.cmd === 'RUN').map((i) => i.rest);

  // The build stage: npm ci with the lock file, scripts on (better-sqlite3, prepare), then prune.
  const build = earlier.find((s) => runs(s).some((r) => /\bnpm ci\b/.test(r)));
  if (!build) problems.push('no build stage runs `npm ci`');
  else {
    // The `npm ci` command itself, not the commands chained after it in the same RUN.
    const ci = runs(build).flatMap((r) => r.split(/&&|;|\|\|/)).find((c) => /\bnpm ci\b/.test(c))!;
    if (/--ignore-scripts|--omit[= ]dev|--production/.test(ci)) {
      problems.push('the build stage\'s `npm ci` must run the install scripts with dev dependencies (better-sqlite3, the TypeScript build)');
    }
    const copied = build.instructions.filter((i) => i.cmd === 'COPY').flatMap((i) => copyParts(i.rest).sources);
    if (!copied.includes('package-lock.json')) problems.push('the build stage does not copy package-lock.json (npm ci needs it)');
  }

  // The runtime stage: only what the build stage made, no installs, no sources.
  for (const r of runs(final)) {
    if (/\bnpm (ci|install|i)\b/.test(r)) problems.push(`the runtime stage installs packages (${r.slice(0, 40)}…): copy the pruned node_modules instead`);
  }
  const finalCopies = final.instructions.filter((i) => i.cmd === 'COPY' || i.cmd === 'ADD').map((i) => ({ cmd: i.cmd, ...copyParts(i.rest) }));
  const fromStage = new Map<string, string>(); // destination basename → source stage
  for (const c of finalCopies) {
    if (c.cmd === 'ADD' || !c.from || !byName.has(c.from)) {
      problems.push(`the runtime stage copies ${c.sources.join(' ')} from the build context: copy from the build stage only`);
      continue;
    }
    for (const s of c.sources) fromStage.set(posix.basename(s), c.from);
  }
  const nm = fromStage.get('node_modules');
  if (!nm) problems.push('the runtime stage does not copy node_modules from the build stage');
  else if (!runs(byName.get(nm)!).some((r) => /npm (prune|ci)\b[^&;|]*--omit[= ]dev/.test(r))) {
    problems.push(`node_modules comes from stage ${nm}, which never drops the dev dependencies (npm prune --omit=dev)`);
  }
  // Everything the package ships to run (package.json `files`, not its docs) must be in the image.
  for (const f of facts.packageFiles) {
    if (f === 'docs' || f.endsWith('.md')) continue;
    if (!fromStage.has(posix.basename(f))) problems.push(`the runtime stage does not copy ${f} (package.json files)`);
  }
  if (!fromStage.has('package.json')) problems.push('the runtime stage does not copy package.json (its "type": "module")');

  // The user: the last USER of the runtime stage, not root.
  const users = final.instructions.filter((i) => i.cmd === 'USER');
  const user = users.at(-1)?.rest;
  if (!user) problems.push('the runtime stage has no USER: it would run as root');
  else if (ROOT_USERS.test(user)) problems.push(`the runtime stage runs as ${user}: use an unprivileged user`);

  // The command: exec form (so node is PID 1 and gets SIGTERM), the README's `serve --config`.
  const last = (cmd: string) => final.instructions.filter((i) => i.cmd === cmd).at(-1);
  const ep = last('ENTRYPOINT');
  const cmdI = last('CMD');
  const epArgs = ep ? execForm(ep.rest) : [];
  const cmdArgs = cmdI ? execForm(cmdI.rest) : [];
  if (epArgs === null || cmdArgs === null) problems.push('ENTRYPOINT and CMD must be in exec form (JSON): a shell would get SIGTERM, not node');
  else {
    const argv = [...epArgs, ...cmdArgs];
    const workdir = final.instructions.filter((i) => i.cmd === 'WORKDIR').at(-1)?.rest ?? '/';
    const [node, script, ...rest] = argv;
    if (node !== 'node' && node !== '/usr/local/bin/node') problems.push(`the command starts with ${node}, not node`);
    const rel = script ? posix.relative(workdir, posix.resolve(workdir, script)) : '';
    if (!script || rel.startsWith('..')) problems.push(`the command runs ${script}, outside the WORKDIR ${workdir}`);
    else {
      if (!existsSync(join(facts.root, rel))) problems.push(`the command runs ${rel}, which does not exist in the package`);
      const top = rel.split('/')[0];
      if (!facts.packageFiles.includes(top) && !facts.packageFiles.includes(rel)) problems.push(`the command runs ${rel}, which is not in package.json files`);
      if (!fromStage.has(top)) problems.push(`the command runs ${rel}, but the runtime stage does not copy ${top}`);
    }
    if (rest.join(' ') !== `serve --config ${facts.configPath}`) {
      problems.push(`the command is "${argv.join(' ')}", not the README's "node bin/fedbridge.js serve --config ${facts.configPath}"`);
    }
  }

  // A config without server.host listens on HOST, else 127.0.0.1: unreachable from outside a container.
  if (facts.hostFromEnv) {
    const env = new Map(final.instructions.filter((i) => i.cmd === 'ENV').flatMap((i) => i.rest.split(/\s+/).map((kv) => kv.split('=') as [string, string])));
    const host = env.get('HOST');
    if (host !== '0.0.0.0' && host !== '::') problems.push(`the runtime stage sets HOST=${host ?? '(nothing)'}: the example config leaves server.host to it, so it must be 0.0.0.0 or ::`);
  }

  // Liveness: GET /healthz on the configured port.
  const hc = last('HEALTHCHECK');
  if (!hc || /^NONE$/i.test(hc.rest)) problems.push('no HEALTHCHECK in the runtime stage');
  else if (!hc.rest.includes(`:${facts.port}/healthz`)) problems.push(`the HEALTHCHECK does not ask /healthz on port ${facts.port}`);

  // Volumes: keys.dir and the SQLite directory, so the root filesystem can be read-only.
  const vols = final.instructions.filter((i) => i.cmd === 'VOLUME').flatMap((i) => execForm(i.rest) ?? i.rest.split(/\s+/));
  for (const v of facts.volumes) if (!vols.includes(v)) problems.push(`${v} is not a VOLUME of the runtime stage`);

  // What the build context must hold: every COPY source exists and .dockerignore keeps it.
  const ignored = dockerignoreMatcher(dockerignore);
  for (const s of earlier) {
    for (const i of s.instructions.filter((x) => x.cmd === 'COPY' || x.cmd === 'ADD')) {
      const c = copyParts(i.rest);
      if (c.from) continue;
      for (const src of c.sources) {
        if (!existsSync(join(facts.root, src))) problems.push(`COPY ${src}: not in the repository`);
        else if (ignored(src)) problems.push(`COPY ${src}: excluded by .dockerignore`);
      }
    }
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------
// .dockerignore

/**
 * A matcher for the .dockerignore forms used here: plain paths (a directory covers what is
 * under it), `*` within one segment, a leading `**\/`, and `!` exceptions; the last match wins.
 */
export function dockerignoreMatcher(text: string): (path: string) => boolean {
  const rules = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => {
      const negate = l.startsWith('!');
      const pat = posix.normalize(l.replace(/^!/, '').replace(/^\/+/, '')).replace(/\/+$/, '');
      const anyDepth = pat.startsWith('**/');
      const body = (anyDepth ? pat.slice(3) : pat)
        .split('/')
        .map((seg) => seg.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]'))
        .join('/');
      return { negate, re: new RegExp(`^${anyDepth ? '(?:.*/)?' : ''}${body}(?:/.*)?$`) };
    });
  return (path: string) => {
    const p = posix.normalize(path).replace(/^\.\//, '').replace(/\/+$/, '');
    let out = false;
    for (const r of rules) if (r.re.test(p)) out = !r.negate;
    return out;
  };
}

/** Local state and secrets never go into the build context (docs/operations.md: keys never in an image). */
export function dockerignoreProblems(text: string): string[] {
  const ignored = dockerignoreMatcher(text);
  const problems: string[] = [];
  for (const p of ['keys/abc.json', 'data/fedbridge.db', 'node_modules/koa/package.json', 'dist/src/index.js', '.git/config', 'deploy/.env', '.env']) {
    if (!ignored(p)) problems.push(`${p} would be sent into the build context`);
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------
// deploy/compose.yaml

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Compose's duration strings ("30s", "1m30s", "500ms") in seconds; a bare number is seconds. */
export function durationSeconds(v: unknown): number | null {
  if (typeof v === 'number') return v;
  if (typeof v !== 'string' || !/^(\d+(\.\d+)?(h|m|s|ms|us))+$/.test(v)) return null;
  const unit: Record<string, number> = { h: 3600, m: 60, s: 1, ms: 0.001, us: 0.000001 };
  let total = 0;
  for (const [, n, , u] of v.matchAll(/(\d+(\.\d+)?)(h|ms|us|m|s)/g)) total += Number(n) * unit[u];
  return total;
}

/** A short-syntax volume ("src:target[:mode]") or a long-syntax one. */
function mounts(svc: Obj): Array<{ source: string; target: string; readOnly: boolean }> {
  const list = Array.isArray(svc.volumes) ? svc.volumes : [];
  return list.map((v) => {
    if (typeof v === 'string') {
      const [source, target, mode] = v.split(':');
      return { source, target, readOnly: mode === 'ro' };
    }
    const o = isObj(v) ? v : {};
    return { source: String(o.source ?? ''), target: String(o.target ?? ''), readOnly: o.read_only === true };
  });
}

function commandWords(v: unknown): string[] {
  if (Array.isArray(v)) return v.map(String);
  return typeof v === 'string' ? v.split(/\s+/) : [];
}

export interface ComposeFacts {
  /** deploy/, where relative sources are. */
  dir: string;
  /** Where the image reads its config (the Dockerfile's --config path). */
  configPath: string;
  /** The instances' config, parsed (deploy/config/fedbridge.yaml). */
  config: Obj;
  /** Its path, to check that the compose file mounts this very file. */
  configFile?: string;
  /** Its text, for the ${ENV} names it needs. */
  configText: string;
  /** The longest a drain may take, in seconds (src/observability/drain.ts). */
  drainSeconds: number;
}

/** The ${NAME} references of a config file, comments left out. */
export function envNames(configText: string): Set<string> {
  const names = new Set<string>();
  for (const line of configText.split(/\r?\n/)) {
    const code = line.replace(/(^|\s)#.*$/, '');
    for (const [, n] of code.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g)) names.add(n);
  }
  return names;
}

export function composeProblems(doc: unknown, facts: ComposeFacts): string[] {
  const problems: string[] = [];
  const services = isObj(doc) && isObj(doc.services) ? doc.services : {};
  const named = isObj(doc) && isObj(doc.volumes) ? doc.volumes : {};
  const entries = Object.entries(services).filter(([, s]) => isObj(s)) as Array<[string, Obj]>;
  const image = (s: Obj) => String(s.image ?? '');
  const isInstance = (s: Obj) => isObj(s.build) || /^fedbridge\b/.test(image(s));

  for (const [name, s] of entries) if (s.read_only !== true) problems.push(`${name}: read_only is not true`);

  // Redis with the append-only file, on a volume.
  const redis = entries.filter(([, s]) => /^redis\b/.test(image(s)));
  if (redis.length !== 1) problems.push(`expected one redis service, found ${redis.length}`);
  const redisName = redis[0]?.[0];
  if (redis[0]) {
    const [, r] = redis[0];
    const words = commandWords(r.command);
    const i = words.indexOf('--appendonly');
    if (i < 0 || words[i + 1] !== 'yes') problems.push(`${redisName}: not started with --appendonly yes (docs/operations.md, "Make Redis durable")`);
    if (!mounts(r).some((m) => m.target === '/data' && m.source in named)) problems.push(`${redisName}: /data (the AOF) is not on a named volume`);
  }

  // The instances: two or more, same config, one shared keys volume, Redis as the store.
  const instances = entries.filter(([, s]) => isInstance(s));
  if (instances.length < 2) problems.push(`expected two Fedbridge instances at least, found ${instances.length}`);
  const cfg = facts.config;
  const server = isObj(cfg.server) ? cfg.server : {};
  const store = isObj(cfg.store) ? cfg.store : {};
  const keysDir = isObj(cfg.keys) ? String(cfg.keys.dir ?? '') : '';
  if (server.trustProxy !== true) problems.push('the instances\' config does not set server.trustProxy: true (they are behind the proxy)');
  if (store.kind !== 'redis') problems.push('the instances\' config does not use the Redis store (several instances share it)');
  else {
    const host = (() => {
      try {
        return new URL(String(store.url)).hostname;
      } catch {
        return null;
      }
    })();
    if (host !== redisName) problems.push(`the instances' store.url points at ${host}, not the ${redisName} service`);
  }
  const needs = envNames(facts.configText);
  const keyVolumes = new Set<string>();
  for (const [name, s] of instances) {
    const m = mounts(s);
    // The config's folder is mounted (a file replaced by rename stays visible, and reloads).
    const folder = posix.dirname(facts.configPath);
    const conf = m.find((x) => x.target === folder || x.target === `${folder}/`);
    if (!conf) {
      const file = m.some((x) => x.target === facts.configPath);
      problems.push(`${name}: ${file ? `mount the folder ${folder}, not the file` : `nothing is mounted at ${folder}`} (the image's --config ${facts.configPath})`);
    } else {
      const inside = join(facts.dir, conf.source, posix.basename(facts.configPath));
      if (!existsSync(inside)) problems.push(`${name}: ${conf.source} in deploy/ holds no ${posix.basename(facts.configPath)}`);
      else if (facts.configFile && inside !== facts.configFile) problems.push(`${name}: mounts ${inside}, not the config checked here (${facts.configFile})`);
      if (!conf.readOnly) problems.push(`${name}: the config is not mounted read-only`);
    }
    const keys = m.find((x) => x.target === keysDir);
    if (!keys) problems.push(`${name}: no volume at keys.dir (${keysDir})`);
    else if (!(keys.source in named)) problems.push(`${name}: keys.dir is on ${keys.source}, not a named volume`);
    else keyVolumes.add(keys.source);
    const tmpfs = Array.isArray(s.tmpfs) ? s.tmpfs.map(String) : typeof s.tmpfs === 'string' ? [s.tmpfs] : [];
    if (!tmpfs.includes('/tmp')) problems.push(`${name}: no tmpfs at /tmp`);
    if (s.ports) problems.push(`${name}: publishes ports; only the proxy should`);
    if (typeof s.user === 'string' && ROOT_USERS.test(s.user)) problems.push(`${name}: runs as ${s.user}`);
    const env = isObj(s.environment) ? Object.keys(s.environment) : Array.isArray(s.environment) ? s.environment.map((e) => String(e).split('=')[0]) : [];
    for (const n of needs) if (!env.includes(n)) problems.push(`${name}: the config needs \${${n}}, not in its environment`);
    const grace = durationSeconds(s.stop_grace_period ?? '10s');
    if (grace === null || grace <= facts.drainSeconds) problems.push(`${name}: stop_grace_period ${String(s.stop_grace_period ?? '10s (default)')} is not longer than the drain (${facts.drainSeconds} s)`);
  }
  if (keyVolumes.size > 1) problems.push(`the instances use different keys volumes (${[...keyVolumes].join(', ')}): they must share one`);

  // The proxy in front, with its config file from deploy/.
  const proxies = entries.filter(([, s]) => /^(nginx|caddy)\b/.test(image(s)));
  if (proxies.length !== 1) problems.push(`expected one proxy service (nginx or caddy), found ${proxies.length}`);
  for (const [name, p] of proxies) {
    const conf = mounts(p).find((m) => /^\/etc\/(nginx\/nginx\.conf|caddy\/Caddyfile)$/.test(m.target));
    if (!conf) problems.push(`${name}: its config file is not mounted`);
    else if (!existsSync(join(facts.dir, conf.source)) || !statSync(join(facts.dir, conf.source)).isFile()) problems.push(`${name}: ${conf.source} is not a file in deploy/`);
    const ports = Array.isArray(p.ports) ? p.ports.map(String) : [];
    if (!ports.some((x) => x.endsWith(':443'))) problems.push(`${name}: does not publish 443 (TLS is terminated here)`);
  }
  return problems;
}

/** The Fedbridge instance services' names. */
export function instanceNames(doc: unknown): string[] {
  const services = isObj(doc) && isObj(doc.services) ? doc.services : {};
  return Object.entries(services)
    .filter(([, s]) => isObj(s) && (isObj(s.build) || /^fedbridge\b/.test(String(s.image ?? ''))))
    .map(([n]) => n);
}

// ---------------------------------------------------------------------------------------------
// deploy/nginx.conf

export interface NginxNode {
  name: string;
  args: string[];
  children: NginxNode[] | null;
}

/** nginx's syntax: directives end with `;`, blocks in braces, `#` comments, quoted strings. */
export function parseNginx(text: string): NginxNode[] {
  const tokens: string[] = [];
  const re = /#[^\n]*|"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)'|([{};])|([^\s{};"'#]+)/g;
  for (const m of text.matchAll(re)) {
    if (m[0].startsWith('#')) continue;
    tokens.push(m[1] ?? m[2] ?? m[3] ?? m[4]);
  }
  let i = 0;
  const block = (): NginxNode[] => {
    const out: NginxNode[] = [];
    while (i < tokens.length && tokens[i] !== '}') {
      const words: string[] = [];
      while (i < tokens.length && tokens[i] !== ';' && tokens[i] !== '{' && tokens[i] !== '}') words.push(tokens[i++]);
      if (tokens[i] === '{') {
        i++;
        const children = block();
        if (tokens[i] !== '}') throw new Error('nginx config: unclosed block');
        i++;
        out.push({ name: words[0], args: words.slice(1), children });
      } else if (tokens[i] === ';') {
        i++;
        out.push({ name: words[0], args: words.slice(1), children: null });
      } else throw new Error(`nginx config: directive without ; (${words.join(' ')})`);
    }
    return out;
  };
  const tree = block();
  if (i < tokens.length) throw new Error('nginx config: unmatched }');
  return tree;
}

const XFF_OK = new Set(['$remote_addr', '$proxy_add_x_forwarded_for']);

/**
 * The proxy sends every request to the instances, with the client address in X-Forwarded-For
 * (one hop: Fedbridge takes its last entry), the scheme and the host. proxy_set_header is
 * inherited only by a level that sets none of its own, so the headers are judged per location.
 */
export function nginxProblems(text: string, upstreams: string[]): string[] {
  let tree: NginxNode[];
  try {
    tree = parseNginx(text);
  } catch (err) {
    return [(err as Error).message];
  }
  const problems: string[] = [];
  const http = tree.find((n) => n.name === 'http');
  if (!http?.children) return ['no http block'];
  const ups = new Map(http.children.filter((n) => n.name === 'upstream' && n.children).map((n) => [n.args[0], n]));
  const servers = http.children.filter((n) => n.name === 'server' && n.children);
  let proxied = 0;
  for (const server of servers) {
    const locations = server.children!.filter((n) => n.name === 'location' && n.children);
    const headersAt = (n: NginxNode) => n.children!.filter((d) => d.name === 'proxy_set_header');
    for (const loc of locations) {
      const pass = loc.children!.find((d) => d.name === 'proxy_pass');
      if (!pass) continue;
      proxied++;
      const where = `location ${loc.args.join(' ')}`;
      const target = /^https?:\/\/([^/:]+)/.exec(pass.args[0] ?? '')?.[1];
      const up = target ? ups.get(target) : undefined;
      if (!up) problems.push(`${where}: proxy_pass ${pass.args[0]} is not one of the upstream blocks`);
      else {
        const got = up.children!.filter((d) => d.name === 'server').map((d) => d.args[0]).sort();
        if (got.join(' ') !== [...upstreams].sort().join(' ')) problems.push(`upstream ${target}: servers ${got.join(', ')}, expected ${upstreams.join(', ')}`);
      }
      const level = [loc, server, http].find((n) => headersAt(n).length > 0);
      const headers = new Map((level ? headersAt(level) : []).map((d) => [d.args[0].toLowerCase(), d.args.slice(1).join(' ')]));
      const xff = headers.get('x-forwarded-for');
      if (!xff || !XFF_OK.has(xff)) problems.push(`${where}: X-Forwarded-For is ${xff ?? 'not set'}; set it to $remote_addr (or $proxy_add_x_forwarded_for)`);
      const proto = headers.get('x-forwarded-proto');
      if (proto !== '$scheme' && proto !== 'https') problems.push(`${where}: X-Forwarded-Proto is ${proto ?? 'not set'}`);
      if (headers.get('host') !== '$host') problems.push(`${where}: Host is ${headers.get('host') ?? 'not set'}, not $host`);
      // TLS ends here: a server that proxies listens with ssl and has a certificate.
      const listens = server.children!.filter((d) => d.name === 'listen');
      if (!listens.length || !listens.every((d) => d.args.includes('ssl'))) problems.push(`${where}: its server does not listen with ssl only`);
      if (!server.children!.some((d) => d.name === 'ssl_certificate')) problems.push(`${where}: its server has no ssl_certificate`);
    }
  }
  if (proxied === 0) problems.push('no location proxies to Fedbridge');
  return problems;
}

// ---------------------------------------------------------------------------------------------
// deploy/fedbridge.service

/** A unit file's sections, each key with every value it was given (in order). */
export function parseUnit(text: string): Map<string, Map<string, string[]>> {
  const sections = new Map<string, Map<string, string[]>>();
  let current: Map<string, string[]> | null = null;
  let pending = '';
  for (const raw of text.split(/\r?\n/)) {
    let line = raw.trim();
    if (!pending && (line === '' || line.startsWith('#') || line.startsWith(';'))) continue;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `;
      continue;
    }
    line = pending + line;
    pending = '';
    const sec = /^\[([^\]]+)\]$/.exec(line);
    if (sec) {
      current = new Map();
      sections.set(sec[1], current);
      continue;
    }
    const kv = /^([A-Za-z0-9]+)\s*=\s*(.*)$/.exec(line);
    if (!kv || !current) continue;
    current.set(kv[1], [...(current.get(kv[1]) ?? []), kv[2]]);
  }
  return sections;
}

/** systemd's time spans ("30", "30s", "1min 30s", "2m"); a bare number is seconds. */
export function timespanSeconds(v: string): number | null {
  const t = v.trim();
  if (/^\d+(\.\d+)?$/.test(t)) return Number(t);
  const unit: Record<string, number> = { ms: 0.001, s: 1, sec: 1, second: 1, seconds: 1, m: 60, min: 60, minute: 60, minutes: 60, h: 3600, hr: 3600, hour: 3600, hours: 3600 };
  let total = 0;
  let rest = t;
  while (rest) {
    const m = /^(\d+(?:\.\d+)?)\s*([a-z]+)\s*/.exec(rest);
    if (!m || !(m[2] in unit)) return null;
    total += Number(m[1]) * unit[m[2]];
    rest = rest.slice(m[0].length);
  }
  return total;
}

export interface UnitFacts {
  /** The single-instance config the unit runs (deploy/fedbridge.yaml), parsed. */
  config: Obj;
  drainSeconds: number;
}

export function unitProblems(text: string, facts: UnitFacts): string[] {
  const problems: string[] = [];
  const unit = parseUnit(text);
  for (const s of ['Unit', 'Service', 'Install']) if (!unit.has(s)) problems.push(`no [${s}] section`);
  const svc = unit.get('Service') ?? new Map<string, string[]>();
  const one = (k: string) => svc.get(k)?.at(-1);
  const yes = (k: string) => /^(yes|true|on|1)$/i.test(one(k) ?? '');

  const exec = one('ExecStart') ?? '';
  const m = /^(\/\S+\/node) (\/\S+)\/bin\/fedbridge\.js serve --config (\/\S+)$/.exec(exec);
  if (!m) problems.push(`ExecStart is "${exec}", not "/usr/bin/node <dir>/bin/fedbridge.js serve --config <file>" (README)`);
  if (one('ExecReload') !== '/bin/kill -HUP $MAINPID') problems.push(`ExecReload is ${one('ExecReload') ?? 'missing'}, not /bin/kill -HUP $MAINPID`);
  const user = one('User');
  if (!user || ROOT_USERS.test(user)) problems.push(`User is ${user ?? 'missing'}: run as an unprivileged user`);
  if (one('DynamicUser') && yes('DynamicUser')) problems.push('DynamicUser changes the owner of the key files between starts');
  if (!yes('NoNewPrivileges')) problems.push('NoNewPrivileges is not yes');
  if (one('ProtectSystem') !== 'strict') problems.push(`ProtectSystem is ${one('ProtectSystem') ?? 'missing'}, not strict`);
  if (!yes('PrivateTmp')) problems.push('PrivateTmp is not yes');
  if (one('Restart') !== 'on-failure') problems.push(`Restart is ${one('Restart') ?? 'missing'}, not on-failure`);
  if (yes('MemoryDenyWriteExecute')) problems.push('MemoryDenyWriteExecute=yes stops V8\'s JIT: node cannot run');
  const stop = timespanSeconds(one('TimeoutStopSec') ?? '90');
  if (stop === null || stop <= facts.drainSeconds) problems.push(`TimeoutStopSec ${one('TimeoutStopSec') ?? '(default)'} is not longer than the drain (${facts.drainSeconds} s)`);

  // With ProtectSystem=strict, only ReadWritePaths (and StateDirectory) can be written.
  const writable = (svc.get('ReadWritePaths') ?? []).flatMap((v) => v.split(/\s+/)).map((p) => p.replace(/^[-+]/, ''));
  const cfg = facts.config;
  const keysDir = isObj(cfg.keys) ? String(cfg.keys.dir ?? '') : '';
  const store = isObj(cfg.store) ? cfg.store : {};
  const need = [keysDir, ...(store.kind === 'sqlite' ? [dirname(String(store.path))] : [])];
  for (const p of need) {
    if (!writable.some((w) => p === w || p.startsWith(`${w}/`))) problems.push(`${p} is not in ReadWritePaths (ProtectSystem=strict makes it read-only)`);
  }
  return problems;
}

/**
 * deploy/fedbridge-keys-rotate.service and .timer: `keys rotate` with the main unit's command,
 * user, environment and config, able to write keys.dir, on a calendar.
 */
export function rotationProblems(serviceText: string, timerText: string, mainText: string, facts: UnitFacts): string[] {
  const problems: string[] = [];
  const main = parseUnit(mainText).get('Service') ?? new Map<string, string[]>();
  const svc = parseUnit(serviceText).get('Service') ?? new Map<string, string[]>();
  const one = (m: Map<string, string[]>, k: string) => m.get(k)?.at(-1);
  const expected = (one(main, 'ExecStart') ?? '').replace(/ serve --config /, ' keys rotate --config ');
  if (one(svc, 'ExecStart') !== expected) problems.push(`rotation ExecStart is "${one(svc, 'ExecStart')}", not "${expected}"`);
  for (const k of ['User', 'Group', 'EnvironmentFile', 'WorkingDirectory']) {
    if (one(svc, k) !== one(main, k)) problems.push(`rotation ${k} is ${one(svc, k) ?? 'missing'}, the service's is ${one(main, k)}`);
  }
  if (one(svc, 'Type') !== 'oneshot') problems.push('rotation Type is not oneshot');
  if (one(svc, 'ProtectSystem') !== 'strict') problems.push('rotation ProtectSystem is not strict');
  const keysDir = isObj(facts.config.keys) ? String(facts.config.keys.dir ?? '') : '';
  const writable = (svc.get('ReadWritePaths') ?? []).flatMap((v) => v.split(/\s+/));
  if (!writable.includes(keysDir)) problems.push(`rotation cannot write keys.dir ${keysDir} (ReadWritePaths)`);
  const timer = parseUnit(timerText);
  const t = timer.get('Timer') ?? new Map<string, string[]>();
  if (!t.get('OnCalendar')?.length) problems.push('the timer has no OnCalendar (monotonic timers start over at every boot)');
  if (one(t, 'Unit') && one(t, 'Unit') !== 'fedbridge-keys-rotate.service') problems.push(`the timer starts ${one(t, 'Unit')}`);
  if (!/^(yes|true|on|1)$/i.test(one(t, 'Persistent') ?? '')) problems.push('the timer is not Persistent: a rotation missed while down is skipped');
  if (!timer.get('Install')?.get('WantedBy')?.includes('timers.target')) problems.push('the timer is not WantedBy=timers.target');
  return problems;
}
