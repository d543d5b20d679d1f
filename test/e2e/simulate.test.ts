/**
 * `fedbridge simulate` in-process against a running service with discovery and a local
 * tenant: over plain HTTP, in headless chromium, and failing on a wrong password.
 */
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { simulate, stepNames } from '../helpers/simulate.js';
import { AUDIENCE, PASSWORD, startEnrollmentService } from '../helpers/enrollment.js';
import { freePort, startService, type TestService } from '../helpers/service.js';
import { startFakeMdm, type FakeMdm } from '../helpers/fake-mdm.js';

const STEP = /^(PASS|FAIL|SKIP) .{18} +\d+ ms {2}\S/;

/** An allow-listed loopback appru: the browser's POST there is answered by a playwright route. */
const CAPTURE_APPRU = 'http://127.0.0.1:9/device-capture';

let svc: TestService;
beforeAll(async () => {
  svc = await startEnrollmentService({ extra: { appru: { allow: [CAPTURE_APPRU] } } });
});
afterAll(() => svc.close());

describe('fedbridge simulate --http', () => {
  it('passes every step: discovery, sign-in, capture, GetPolicies, Enroll, replay', async () => {
    const r = await simulate(['--server', svc.url, '--user', 'alice@example.com', '--password', PASSWORD, '--http']);
    expect(r.code, r.out).toBe(0);
    expect(stepNames(r.lines)).toEqual(['discovery GET', 'discovery POST', 'sign-in (http)', 'wresult capture', 'GetPolicies', 'Enroll', 'replay refused']);
    for (const line of r.lines) {
      expect(line).toMatch(STEP);
      expect(line.startsWith('PASS')).toBe(true);
    }
    expect(r.lines[2]).toContain('password → wresult');
    expect(r.lines[5]).toContain('replay consumed');
  });

  it('fails at the email page for a user of an unknown organization', async () => {
    const r = await simulate(['--server', svc.url, '--user', 'mallory@unknown.org', '--password', PASSWORD, '--http']);
    expect(r.code).toBe(1);
    expect(r.lines.at(-1)).toMatch(/^FAIL sign-in \(http\).*email page refused/);
  });

  it('fails on a wrong password, at the sign-in step, with a non-zero exit', async () => {
    const r = await simulate(['--server', svc.url, '--user', 'bob@example.com', '--password', 'wrong', '--http']);
    expect(r.code).toBe(1);
    expect(stepNames(r.lines)).toEqual(['discovery GET', 'discovery POST', 'sign-in (http)']);
    expect(r.lines.at(-1)).toMatch(/^FAIL sign-in \(http\).*password/);
  });

  it('fails without --password when the page asks for one', async () => {
    const r = await simulate(['--server', svc.url, '--user', 'bob@example.com', '--http']);
    expect(r.code).toBe(1);
    expect(r.lines.at(-1)).toMatch(/--password/);
  });

  it('fails when the introspection credentials are wrong', async () => {
    const r = await simulate(['--server', svc.url, '--user', 'alice@example.com', '--password', PASSWORD, '--http'], { FEDBRIDGE_INTROSPECT_SECRET: 'nope' });
    expect(r.code).toBe(1);
    expect(r.lines.at(-1)).toMatch(/^FAIL GetPolicies .*client credentials/);
  });

  it('reports a 404 discovery as a skip and opens URL/auth (demo mode, demo client)', async () => {
    const demo = await startService();
    try {
      const r = await simulate(['--server', demo.url, '--user', 'bob@example.com', '--password', PASSWORD, '--http'], { FEDBRIDGE_INTROSPECT_ID: '', FEDBRIDGE_INTROSPECT_SECRET: '' });
      expect(r.code, r.out).toBe(0);
      expect(r.lines[0]).toMatch(/^SKIP discovery GET .*404/);
      expect(stepNames(r.lines)).toEqual(['discovery GET', 'sign-in (http)', 'wresult capture', 'GetPolicies', 'Enroll', 'replay refused']);
      const mdm = await simulate(['--server', demo.url, '--user', 'bob@example.com', '--password', PASSWORD, '--http', '--mdm']);
      expect(mdm.code).toBe(1);
      expect(mdm.lines.at(-1)).toMatch(/^FAIL GetPolicies .*discovery was skipped/);
    } finally {
      await demo.close();
    }
  });

  it('fails at the first step when nothing listens there', async () => {
    const r = await simulate(['--server', `http://127.0.0.1:${await freePort()}`, '--user', 'alice@example.com', '--http']);
    expect(r.code).toBe(1);
    expect(r.lines).toHaveLength(1);
    expect(r.lines[0]).toMatch(/^FAIL discovery GET .*ECONNREFUSED/);
  });

  it('prints its usage without --server/--user', async () => {
    const r = await simulate(['--user', 'a@example.com']);
    expect(r.code).toBe(2);
    expect(r.out).toMatch(/usage: fedbridge simulate/);
  });
});

describe.skipIf(!existsSync('/usr/bin/chromium'))('fedbridge simulate --browser', () => {
  it('passes every step in headless chromium (the wresult POST to ms-app:// is intercepted)', async () => {
    const r = await simulate(['--server', svc.url, '--user', 'alice@example.com', '--password', PASSWORD, '--browser']);
    expect(r.code, r.out).toBe(0);
    expect(stepNames(r.lines)).toEqual(['discovery GET', 'discovery POST', 'sign-in (browser)', 'wresult capture', 'GetPolicies', 'Enroll', 'replay refused']);
    expect(r.lines.every((l) => l.startsWith('PASS'))).toBe(true);
  });

  it('is the default when chromium is installed', async () => {
    const r = await simulate(['--server', svc.url, '--user', 'bob@example.com', '--password', PASSWORD]);
    expect(r.code, r.out).toBe(0);
    expect(r.lines[2]).toMatch(/^PASS sign-in \(browser\)/);
  });

  it('captures the POST to an allow-listed http://127.0.0.1 appru', async () => {
    const r = await simulate(['--server', svc.url, '--user', 'alice@example.com', '--password', PASSWORD, '--browser', '--appru', CAPTURE_APPRU]);
    expect(r.code, r.out).toBe(0);
    expect(r.lines[3]).toContain(`posted to ${CAPTURE_APPRU}`);
  });

  it('fails on a wrong password', async () => {
    const r = await simulate(['--server', svc.url, '--user', 'alice@example.com', '--password', 'wrong', '--browser']);
    expect(r.code).toBe(1);
    expect(r.lines.at(-1)).toMatch(/^FAIL sign-in \(browser\).*password page refused/);
  });
});

describe('fedbridge simulate --mdm', () => {
  let mdm: FakeMdm;
  let withMdm: TestService;
  beforeAll(async () => {
    mdm = await startFakeMdm();
    withMdm = await startEnrollmentService({
      discovery: { enrollmentServiceUrl: `${mdm.url}/EnrollmentServer/Enrollment.svc`, enrollmentPolicyServiceUrl: `${mdm.url}/EnrollmentServer/Policy.svc` },
    });
  });
  afterAll(async () => {
    await withMdm.close();
    await mdm.close();
  });

  it('sends GetPolicies and Enroll to the discovered MDM endpoints, which verify with fedbridge/verify', async () => {
    mdm.options = { issuer: withMdm.url, audience: AUDIENCE, tenants: ['demo'] };
    const r = await simulate(['--server', withMdm.url, '--user', 'alice@example.com', '--password', PASSWORD, '--http', '--mdm']);
    expect(r.code, r.out).toBe(0);
    expect(stepNames(r.lines)).toEqual(['discovery GET', 'discovery POST', 'sign-in (http)', 'wresult capture', 'GetPolicies', 'Enroll']);
    expect(mdm.results.map((x) => x.ok && [x.message, x.replay])).toEqual([
      ['GetPolicies', 'fresh'],
      ['Enroll', 'consumed'],
    ]);
  });

  it('fails with the fault the MDM answers', async () => {
    mdm.options = { issuer: withMdm.url, audience: 'urn:another:mdm' };
    const r = await simulate(['--server', withMdm.url, '--user', 'bob@example.com', '--password', PASSWORD, '--http', '--mdm']);
    expect(r.code).toBe(1);
    expect(r.lines.at(-1)).toMatch(/^FAIL GetPolicies .*SOAP fault s:Authorization/);
  });
});
