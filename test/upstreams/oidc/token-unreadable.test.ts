/**
 * A token endpoint that answers 200 with a body that is not a JSON object is the provider
 * failing, not an ID token Fedbridge refused: the page says upstream_error (docs/errors.md),
 * not upstream_invalid_token.
 */
import { afterAll, beforeAll, describe, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestService } from '../../helpers/service.js';
import { ScriptedIdp, TID_A } from './scripted-idp.js';
import { CLIENT_SECRET, signInAs, startWithTenants } from './setup.js';
import { expectErrorPage } from './expect.js';

let idp: ScriptedIdp;
let svc: TestService;
let token: Server;
/** What the token endpoint answers next, with status 200 and content-type application/json. */
let body = '';

beforeAll(async () => {
  idp = await ScriptedIdp.start({ 'fedbridge-client': CLIENT_SECRET });
  token = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end(body));
  }).listen(0, '127.0.0.1');
  await new Promise((r) => token.once('listening', r));
  // The discovery document sends the code exchange to this server; everything else is the scripted IdP.
  idp.discoveryExtra = { token_endpoint: `http://127.0.0.1:${(token.address() as AddressInfo).port}/token` };
  svc = await startWithTenants([{ id: 'contoso', domain: 'contoso.com', issuer: idp.issuerOf(TID_A) }]);
});
afterAll(async () => {
  await svc?.close();
  await idp?.close();
  token?.close();
});

describe('token endpoint answers that are not JSON objects', () => {
  it.each([
    ['cut JSON', '{"access_token": "x", "id_token": '],
    ['garbage', '{"issuer": <<<garbage\u0000\u0000'],
    ['HTML', '<html><body>Service Unavailable</body></html>'],
    ['a JSON array', '["not", "an", "object"]'],
    ['a JSON string', '"id_token"'],
  ])('%s → upstream_error', async (_name, answer) => {
    body = answer;
    const r = await signInAs(svc, 'user@contoso.com');
    expectErrorPage(r.res, r.html, 502, 'upstream_error');
  });
});
