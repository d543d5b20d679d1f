/**
 * `fedbridge simulate`: plays the Windows enrollment client against a server (README, Operating it):
 * discovery, the auth window, the wresult capture, then GetPolicies and Enroll carrying
 * the token. One line per step; exit 0 only when every step passes (a SKIP is not a failure).
 */
import { parseArgs } from 'node:util';
import { decodeJwt } from 'jose';
import { DEMO_CLIENT } from '../../config/demo.js';
import type { CliIO } from '../io.js';
import { Report, RunFailed } from './report.js';
import { discover, discoveryProbe } from './discovery.js';
import type { DiscoverResult } from './discover-response.js';
import { windowUrl, type Captured, type WindowInput } from './window.js';
import { httpWindow } from './http-window.js';
import { browserWindow, chromiumInstalled, loadPlaywright } from './browser-window.js';
import { envelopes, expectActive, introspect, postToMdm } from './enroll.js';

export const SIMULATE_USAGE =
  'usage: fedbridge simulate --server URL --user UPN [--password P] [--http|--browser [--headed]] [--appru A] [--mdm] [--timeout MS]';

export const DEFAULT_APPRU = 'ms-app://windows.immersivecontrolpanel';

interface Args {
  server: string;
  user: string;
  password?: string;
  mode: 'http' | 'browser';
  headed: boolean;
  appru: string;
  mdm: boolean;
  timeoutMs: number;
}

async function readArgs(args: string[], io: CliIO): Promise<Args | string> {
  const { values } = parseArgs({
    args,
    options: {
      server: { type: 'string' },
      user: { type: 'string' },
      password: { type: 'string' },
      http: { type: 'boolean', default: false },
      browser: { type: 'boolean', default: false },
      headed: { type: 'boolean', default: false },
      appru: { type: 'string' },
      mdm: { type: 'boolean', default: false },
      timeout: { type: 'string' },
    },
  });
  if (!values.server || !values.user) return SIMULATE_USAGE;
  if (values.http && (values.browser || values.headed)) return '--http and --browser/--headed exclude each other';
  let server: URL;
  try {
    server = new URL(values.server);
  } catch {
    return `--server ${values.server} is not a URL`;
  }
  // Headed, a person may be typing the password: give them minutes, not seconds.
  const timeoutMs = values.timeout === undefined ? (values.headed ? 300_000 : 20_000) : Number(values.timeout);
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) return '--timeout must be milliseconds';
  // Browser by default when chromium (and playwright-core) is there; plain HTTP otherwise.
  const browser = values.browser || values.headed || (!values.http && chromiumInstalled(io.env) && (await loadPlaywright()) !== null);
  return {
    server: server.href.replace(/\/+$/, ''),
    user: values.user,
    password: values.password,
    mode: browser ? 'browser' : 'http',
    headed: values.headed,
    appru: values.appru ?? DEFAULT_APPRU,
    mdm: values.mdm,
    timeoutMs,
  };
}

export async function simulateCmd(argv: string[], io: CliIO): Promise<number> {
  const a = await readArgs(argv, io);
  if (typeof a === 'string') {
    io.stderr(`${a}\n${a === SIMULATE_USAGE ? '' : `${SIMULATE_USAGE}\n`}`);
    return 2;
  }
  const report = new Report(io);
  io.stdout(`simulating a Windows enrollment of ${a.user} against ${a.server} (${a.mode}${a.headed ? ', headed' : ''}, ${a.mdm ? 'MDM endpoints' : '/introspect'})\n`);
  try {
    await run(a, report, io);
    io.stdout(`all steps passed\n`);
    return 0;
  } catch (err) {
    if (!(err instanceof RunFailed)) io.stderr(`simulate: ${(err as Error).message}\n`);
    return 1;
  }
}

async function run(a: Args, report: Report, io: CliIO): Promise<void> {
  const served = await report.step('discovery GET', () => discoveryProbe(a.server, a.timeoutMs));
  let discovered: DiscoverResult | null = null;
  if (served) discovered = await report.step('discovery POST', () => discover(a.server, a.user, a.timeoutMs));

  const input: WindowInput = {
    url: windowUrl(discovered?.authenticationServiceUrl ?? `${a.server}/auth`, a.appru, a.user),
    appru: a.appru,
    user: a.user,
    password: a.password,
    timeoutMs: a.timeoutMs,
  };
  const captured = await report.step<Captured>(`sign-in (${a.mode})`, async () => {
    const c = a.mode === 'browser' ? await browserWindow(input, { headed: a.headed, env: io.env }) : await httpWindow(input);
    return { detail: c.pages.join(' → '), value: c };
  });

  const token = await report.step('wresult capture', async () => {
    if (captured.action !== a.appru) throw new Error(`the token was posted to ${captured.action}, not to the appru ${a.appru}`);
    let claims;
    try {
      claims = decodeJwt(captured.wresult);
    } catch {
      throw new Error('the wresult is not a JWT');
    }
    if (String(claims.upn).toLowerCase() !== a.user.toLowerCase()) throw new Error(`the token is for ${String(claims.upn)}, not ${a.user}`);
    return { detail: `${captured.wresult.length}-byte token posted to ${a.appru}, upn ${String(claims.upn)}, tid ${String(claims.tid)}`, value: captured.wresult };
  });

  if (a.mdm) {
    const enroll = discovered?.enrollmentServiceUrl;
    const policy = discovered?.enrollmentPolicyServiceUrl ?? enroll;
    const env = envelopes(token, { policy: policy ?? undefined, enroll: enroll ?? undefined });
    await report.step('GetPolicies', async () => {
      if (!policy || !enroll) throw new Error('--mdm needs the MDM endpoints from discovery, and discovery was skipped');
      return { detail: await postToMdm(policy, env.getPolicies, a.timeoutMs), value: null };
    });
    await report.step('Enroll', async () => ({ detail: await postToMdm(enroll!, env.enroll, a.timeoutMs), value: null }));
    return;
  }

  const client = {
    url: `${a.server}/introspect`,
    id: io.env.FEDBRIDGE_INTROSPECT_ID || DEMO_CLIENT.id,
    secret: io.env.FEDBRIDGE_INTROSPECT_SECRET || DEMO_CLIENT.secret,
  };
  const env = envelopes(token);
  await report.step('GetPolicies', async () => ({ detail: expectActive(await introspect(client, env.getPolicies, a.timeoutMs), 'GetPolicies', a.user), value: null }));
  await report.step('Enroll', async () => ({ detail: expectActive(await introspect(client, env.enroll, a.timeoutMs), 'Enroll', a.user, 'consumed'), value: null }));
  await report.step('replay refused', async () => {
    const r = await introspect(client, env.replay, a.timeoutMs);
    if (r.active !== false || r.error !== 'replayed') throw new Error(`another device presenting the consumed token got ${r.active ? 'active' : String(r.error)}, expected replayed`);
    return { detail: 'another device presenting the consumed token is refused (replayed)', value: null };
  });
}
