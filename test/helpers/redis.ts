import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';

/** A port nothing listens on right now (the OS picks it; we close it again). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (addr && typeof addr === 'object' ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

/** $REDIS_SERVER when set (and then only it); otherwise PATH, then the Debian/Ubuntu location. */
function findRedisServer(): string {
  const candidates = process.env.REDIS_SERVER
    ? [process.env.REDIS_SERVER]
    : [...(process.env.PATH ?? '').split(delimiter).filter(Boolean).map((d) => join(d, 'redis-server')), '/usr/bin/redis-server'];
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK);
      return c;
    } catch {
      // try the next one
    }
  }
  // Fail, never skip: the Redis backend must be tested in CI.
  throw new Error(`redis-server not found or not executable (tried ${candidates.join(', ')}). Install it: apt-get install redis-server`);
}

/**
 * Sends one inline command over a raw socket; `judge` reads what arrived so far and returns
 * true/false once it can tell, undefined to wait for more. False on error or timeout.
 */
function askRaw(port: number, command: string, timeoutMs: number, judge: (answer: string) => boolean | undefined): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = createConnection({ host: '127.0.0.1', port });
    let buf = '';
    const finish = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(timeoutMs, () => finish(false));
    sock.once('error', () => finish(false));
    sock.once('connect', () => sock.write(`${command}\r\n`));
    sock.on('data', (d) => {
      buf += d.toString();
      const verdict = judge(buf);
      if (verdict !== undefined) finish(verdict);
    });
  });
}

/** One raw PING over TCP; true when the server answers +PONG. */
function pingOnce(port: number): Promise<boolean> {
  return askRaw(port, 'PING', 500, (buf) => (buf.includes('\r\n') ? buf.startsWith('+PONG') : undefined));
}

async function launch(bin: string, fixedPort?: number, extra: string[] = []): Promise<{ port: number; proc: ChildProcess }> {
  const port = fixedPort ?? (await freePort());
  const proc = spawn(bin, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...extra], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  proc.stdout?.on('data', (d) => (output += d));
  proc.stderr?.on('data', (d) => (output += d));
  let exited: string | null = null;
  proc.once('exit', (code, sig) => (exited = `exited (code ${code}, signal ${sig})`));
  proc.once('error', (err) => (exited = `failed to start: ${err.message}`));

  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (exited) throw new Error(`redis-server on port ${port} ${exited}\n${output}`);
    if (await pingOnce(port)) return { port, proc };
    await new Promise((r) => setTimeout(r, 50));
  }
  proc.kill('SIGKILL');
  throw new Error(`redis-server on port ${port} did not answer PING within 10 s\n${output}`);
}

function stopProcess(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => proc.kill('SIGKILL'), 3000);
    proc.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    proc.kill('SIGTERM');
  });
}

export interface TestRedis {
  url: string;
  port: number;
  stop(): Promise<void>;
  /** Starts a new, empty redis-server on the same port (after stop): a restart without persistence. */
  restart(): Promise<void>;
}

/**
 * Starts a throwaway redis-server (no persistence) on a free local port. `args` are added to
 * the command line (later options win: `--appendonly yes` turns AOF on).
 */
export async function startRedis(opts: { args?: string[] } = {}): Promise<TestRedis> {
  const bin = findRedisServer();
  // Its own working directory: a snapshot or AOF never lands in the checkout (where every
  // later redis-server started there would load it).
  const dir = await mkdtemp(join(tmpdir(), 'fedbridge-redis-'));
  const args = ['--dir', dir, ...(opts.args ?? [])];
  let lastErr: unknown;
  // The free port can be taken between probing and binding; try a few.
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      let { port, proc } = await launch(bin, undefined, args);
      return {
        url: `redis://127.0.0.1:${port}`,
        port,
        async stop() {
          await stopProcess(proc);
          await rm(dir, { recursive: true, force: true });
        },
        async restart() {
          await stopProcess(proc);
          await mkdir(dir, { recursive: true }); // stop() may have removed it
          ({ port, proc } = await launch(bin, port, args));
        },
      };
    } catch (err) {
      lastErr = err;
    }
  }
  await rm(dir, { recursive: true, force: true });
  throw lastErr;
}

function findRedisCli(): string {
  const server = findRedisServer();
  const cli = join(dirname(server), 'redis-cli');
  accessSync(cli, constants.X_OK);
  return cli;
}

/** Asks one node for `CLUSTER INFO` over a raw socket; true when cluster_state:ok. */
function clusterOk(port: number): Promise<boolean> {
  return askRaw(port, 'CLUSTER INFO', 1000, (buf) => (buf.includes('cluster_known_nodes') ? buf.includes('cluster_state:ok') : undefined));
}

export interface TestRedisCluster {
  /** Seed nodes as host:port (the `store.cluster` config shape). */
  nodes: string[];
  ports: number[];
  stop(): Promise<void>;
}

/**
 * A real Redis Cluster of `masters` masters (no replicas) on free loopback ports: each
 * redis-server with `--cluster-enabled yes` and its own bus port, joined by
 * `redis-cli --cluster create … --cluster-yes`; resolves once every node says cluster_state:ok.
 */
export async function startRedisCluster(masters = 3): Promise<TestRedisCluster> {
  const bin = findRedisServer();
  const cli = findRedisCli();
  const dir = await mkdtemp(join(tmpdir(), 'fedbridge-cluster-'));
  const procs: ChildProcess[] = [];
  const ports: number[] = [];
  const stop = async () => {
    await Promise.all(procs.map(stopProcess));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < masters; i++) {
      const busPort = await freePort();
      const { port, proc } = await launch(bin, undefined, [
        '--cluster-enabled', 'yes', '--cluster-port', String(busPort),
        '--cluster-config-file', join(dir, `nodes-${i}.conf`), '--dir', dir, '--cluster-node-timeout', '2000',
      ]);
      procs.push(proc);
      ports.push(port);
    }
    const nodes = ports.map((p) => `127.0.0.1:${p}`);
    await new Promise<void>((resolve, reject) => {
      execFile(cli, ['--cluster', 'create', ...nodes, '--cluster-replicas', '0', '--cluster-yes'], { timeout: 30_000 }, (err, stdout, stderr) =>
        err ? reject(new Error(`redis-cli --cluster create failed: ${err.message}\n${stdout}\n${stderr}`)) : resolve(),
      );
    });
    const deadline = Date.now() + 20_000;
    for (;;) {
      const states = await Promise.all(ports.map(clusterOk));
      if (states.every(Boolean)) break;
      if (Date.now() > deadline) throw new Error('the Redis Cluster did not reach cluster_state:ok within 20 s');
      await new Promise((r) => setTimeout(r, 100));
    }
    return { nodes, ports, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

export interface TestRedisSentinel {
  /** Sentinel addresses as host:port (the `store.sentinels` config shape). */
  sentinels: string[];
  name: string;
  master: TestRedis;
  stop(): Promise<void>;
}

/**
 * One master watched by one Sentinel (`redis-server <conf> --sentinel`; Debian ships no
 * separate redis-sentinel binary): enough to prove the store finds its master through Sentinel.
 */
export async function startRedisSentinel(name = 'fedbridge'): Promise<TestRedisSentinel> {
  const bin = findRedisServer();
  const master = await startRedis();
  const dir = await mkdtemp(join(tmpdir(), 'fedbridge-sentinel-'));
  const conf = join(dir, 'sentinel.conf');
  // Sentinel rewrites its config file, so it must be writable; the port comes from the command line.
  await writeFile(conf, `sentinel monitor ${name} 127.0.0.1 ${master.port} 1\nsentinel down-after-milliseconds ${name} 1000\n`);
  let proc: ChildProcess | null = null;
  const stop = async () => {
    if (proc) await stopProcess(proc);
    await master.stop();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const started = await launchSentinel(bin, conf);
    proc = started.proc;
    return { sentinels: [`127.0.0.1:${started.port}`], name, master, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

async function launchSentinel(bin: string, conf: string): Promise<{ port: number; proc: ChildProcess }> {
  const port = await freePort();
  const proc = spawn(bin, [conf, '--sentinel', '--port', String(port), '--bind', '127.0.0.1'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  proc.stdout?.on('data', (d) => (output += d));
  proc.stderr?.on('data', (d) => (output += d));
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`redis sentinel exited (code ${proc.exitCode})\n${output}`);
    if (await pingOnce(port)) return { port, proc };
    await new Promise((r) => setTimeout(r, 50));
  }
  proc.kill('SIGKILL');
  throw new Error(`redis sentinel on port ${port} did not answer PING within 10 s\n${output}`);
}
