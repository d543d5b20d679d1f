/**
 * Where a return route reads the IdP's answer from (docs/upstreams.md, "What every return goes
 * through"): a POST's form body only (SAML and WS-Fed POST bindings, OIDC form_post), a GET's
 * query string only (OIDC's default). A query string on a POST cannot add a parameter the body
 * lacks, nor shadow one it has; a parameter given twice is 400 `invalid_request`. Each case
 * starts from a genuine answer captured from a real peer on 127.0.0.1. A refusal before the
 * transaction is taken burns nothing: the genuine answer then still signs in. One that reaches
 * the kind (a parameter it needs is missing from the body) ends that sign-in, without a token.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startService, testConfigFile, type TestService } from '../helpers/service.js';
import { driveSignIn, startOidcProvider, type TestProvider } from '../helpers/oidc-provider.js';
import { startSamlifyIdp, UPN_CLAIM, type SamlifyIdp } from '../helpers/samlify-idp.js';
import { parseForms } from '../helpers/simplesamlphp.js';
import { startAdfsFixture, readAutoPostForm, wsfedSignIn, type AdfsFixture } from '../fixtures/adfs/index.js';
import { hiddenValue } from '../helpers/html.js';
import { expectErrorPage } from '../upstreams/oidc/expect.js';

const APPRU = 'ms-app://windows.immersivecontrolpanel';
const SECRET = 'test-client-secret-0123456789';
const WES = { user: 'wes@wsfed.example', password: 'Wes-pw-1' };

let svc: TestService;
let op: TestProvider;
let samlIdp: SamlifyIdp;
let adfs: AdfsFixture;

beforeAll(async () => {
  const opPort = await freePort();
  const issuer = `http://127.0.0.1:${opPort}`;
  samlIdp = await startSamlifyIdp({ user: { nameId: 'sam@saml.example', attributes: { [UPN_CLAIM]: ['sam@saml.example'] } } });
  adfs = await startAdfsFixture({ users: { [WES.user]: { password: WES.password, upn: WES.user } } });
  const tenant = (id: string, domain: string, idp: Record<string, unknown>) => ({ id, displayName: id, domains: [domain], idp });
  const oidc = { kind: 'oidc', issuer, scopes: ['openid', 'profile', 'email'], clientSecret: SECRET, tokenEndpointAuthMethod: 'client_secret_basic' };
  svc = await startService({
    file: testConfigFile({
      tenants: [
        tenant('contoso', 'contoso.com', { ...oidc, clientId: 'fb-query' }),
        tenant('fabrikam', 'fabrikam.com', { ...oidc, clientId: 'fb-post', responseMode: 'form_post' }),
        tenant('samlco', 'saml.example', { kind: 'saml', metadataUrl: samlIdp.metadataUrl }),
        tenant('wsco', 'wsfed.example', { kind: 'wsfed', metadataUrl: adfs.metadataUrl }),
      ],
    }),
  });
  const redirect_uris = [`${svc.url}/callback/oidc`];
  op = await startOidcProvider({
    port: opPort,
    clients: [
      { client_id: 'fb-query', client_secret: SECRET, token_endpoint_auth_method: 'client_secret_basic', redirect_uris },
      { client_id: 'fb-post', client_secret: SECRET, token_endpoint_auth_method: 'client_secret_basic', redirect_uris },
    ],
    users: [
      { login: 'alice@contoso.com', password: 'pw-alice' },
      { login: 'bob@fabrikam.com', password: 'pw-bob' },
    ],
  });
}, 60_000);

afterAll(async () => {
  await svc?.close();
  await op?.close();
  await samlIdp?.close();
  await adfs?.close();
});

const authUrl = (hint: string) => `${svc.url}/auth?${new URLSearchParams({ appru: APPRU, login_hint: hint })}`;

interface Answer {
  res: Response;
  html: string;
}

async function send(method: 'GET' | 'POST', url: string, body?: [string, string][]): Promise<Answer> {
  const res = await fetch(url, {
    method,
    redirect: 'manual',
    ...(body ? { body: new URLSearchParams(body).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' } } : {}),
  });
  return { res, html: await res.text() };
}

/** POSTs `body` to `route` with `query` as its query string. */
function post(route: string, body: [string, string][], query: [string, string][] = []): Promise<Answer> {
  const q = new URLSearchParams(query).toString();
  return send('POST', q ? `${route}?${q}` : route, body);
}

function expectSignedIn(a: Answer): void {
  expect(a.res.status, /<code>([^<]*)<\/code>/.exec(a.html)?.[1]).toBe(200);
  expect(hiddenValue(a.html, 'wresult')).toBeTruthy();
}

/** The fields of a captured POST answer, with `name` moved into the query string. */
function moved(fields: [string, string][], name: string): { body: [string, string][]; query: [string, string][] } {
  return { body: fields.filter(([k]) => k !== name), query: fields.filter(([k]) => k === name) };
}

describe('oidc, GET /callback/oidc: the query string only', () => {
  it('a parameter given twice in the query is refused; the genuine callback then signs in', async () => {
    const r = await driveSignIn(svc.url, authUrl('alice@contoso.com'), { login: 'alice@contoso.com', password: 'pw-alice', stopAtCallback: true });
    expect(r.callback.method).toBe('GET');
    const genuine = new URL(r.callback.url);
    for (const name of ['code', 'state']) {
      const twice = new URL(genuine);
      twice.searchParams.append(name, genuine.searchParams.get(name)!);
      const a = await send('GET', twice.href);
      expectErrorPage(a.res, a.html, 400, 'invalid_request');
    }
    expectSignedIn(await send('GET', genuine.href));
  });
});

describe('oidc form_post, POST /callback/oidc: the body only', () => {
  async function capture(): Promise<{ url: string; fields: [string, string][] }> {
    const r = await driveSignIn(svc.url, authUrl('bob@fabrikam.com'), { login: 'bob@fabrikam.com', password: 'pw-bob', stopAtCallback: true });
    expect(r.callback.method).toBe('POST');
    return { url: r.callback.url, fields: [...r.callback.body!] };
  }

  it('the code in the query string of a POST is not read: no token', async () => {
    const { url, fields } = await capture();
    const { body, query } = moved(fields, 'code');
    expect(query).toHaveLength(1);
    const a = await post(url, body, query);
    expectErrorPage(a.res, a.html, 400, 'invalid_request');
  });

  it('state in the body and again in the query (shadowing) is refused; so is the body giving it twice', async () => {
    const { url, fields } = await capture();
    const state = fields.find(([k]) => k === 'state')!;
    const both = await post(url, fields, [state]);
    expectErrorPage(both.res, both.html, 400, 'invalid_request');
    const twice = await post(url, [...fields, state]);
    expectErrorPage(twice.res, twice.html, 400, 'invalid_request');
    expectSignedIn(await post(url, fields));
  });
});

describe('saml, POST /saml/:tenant/acs: the body only', () => {
  async function capture(): Promise<{ acs: string; fields: [string, string][] }> {
    const res = await fetch(authUrl('sam@saml.example'), { redirect: 'manual' });
    expect(res.status).toBe(302);
    const location = res.headers.get('location')!;
    const page = await fetch(location);
    const form = parseForms(await page.text(), location)[0]!;
    expect(form.action).toBe(`${svc.url}/saml/samlco/acs`);
    return { acs: form.action, fields: [['SAMLResponse', form.fields.SAMLResponse!], ['RelayState', form.fields.RelayState!]] };
  }

  it('RelayState in the query string of the POST is not read; the genuine answer then signs in', async () => {
    const { acs, fields } = await capture();
    const { body, query } = moved(fields, 'RelayState');
    const a = await post(acs, body, query);
    expectErrorPage(a.res, a.html, 400, 'unknown_state');
    expectSignedIn(await post(acs, fields));
  });

  it('a parameter of the signed body given again in the query string is refused, same value or not', async () => {
    const { acs, fields } = await capture();
    const relay = fields.find(([k]) => k === 'RelayState')!;
    for (const query of [[relay], [['RelayState', 'A'.repeat(43)]], [['SAMLResponse', 'PHgvPg==']]] as [string, string][][]) {
      const a = await post(acs, fields, query);
      expectErrorPage(a.res, a.html, 400, 'invalid_request');
    }
    const twice = await post(acs, [...fields, fields[0]!]);
    expectErrorPage(twice.res, twice.html, 400, 'invalid_request');
    expectSignedIn(await post(acs, fields));
  });
});

describe('wsfed, POST /wsfed/:tenant: the body only', () => {
  async function capture(): Promise<{ route: string; fields: [string, string][] }> {
    const res = await fetch(authUrl(WES.user), { redirect: 'manual' });
    expect(res.status).toBe(302);
    const to = new URL(res.headers.get('location')!);
    const answer = await wsfedSignIn(adfs, {
      realm: to.searchParams.get('wtrealm')!,
      wreply: to.searchParams.get('wreply')!,
      wctx: to.searchParams.get('wctx')!,
      username: WES.user,
      password: WES.password,
    });
    const form = readAutoPostForm(answer.html);
    expect(form?.action).toBe(`${svc.url}/wsfed/wsco`);
    return { route: form!.action, fields: Object.entries(form!.fields) };
  }

  it('wctx in the query string of the POST is not read; the genuine answer then signs in', async () => {
    const { route, fields } = await capture();
    const noCtx = moved(fields, 'wctx');
    const a = await post(route, noCtx.body, noCtx.query);
    expectErrorPage(a.res, a.html, 400, 'unknown_state');
    expectSignedIn(await post(route, fields));
  });

  it('wa in the query string of the POST is not read: no token', async () => {
    const { route, fields } = await capture();
    const noWa = moved(fields, 'wa');
    const b = await post(route, noWa.body, noWa.query);
    expectErrorPage(b.res, b.html, 400, 'invalid_request');
  });

  it('wctx or wa given again in the query string is refused; the genuine answer then signs in', async () => {
    const { route, fields } = await capture();
    for (const name of ['wctx', 'wa']) {
      const a = await post(route, fields, [[name, fields.find(([k]) => k === name)![1]]]);
      expectErrorPage(a.res, a.html, 400, 'invalid_request');
    }
    expectSignedIn(await post(route, fields));
  });
});
