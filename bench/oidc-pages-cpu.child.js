// Child process for bench/oidc-pages-cpu.js, one role per process so each one's CPU time is
// its own: `idp` runs the load suite's node-oidc-provider (test/load/idp.mjs), serving its own
// login AND consent pages (a fresh session per window, so every sign-in sees both pages);
// `fedbridge` runs the compiled service with one oidc tenant; `floor` the bare broker below.
// Both answer over IPC: 'cpu' (process.cpuUsage()) and 'mark' (the monotonic clock in
// microseconds, the clock of a --cpu-prof profile's timestamps, so the parent can keep only the
// samples of the measured sign-ins).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serveParent, startFedbridge } from './child-harness.js';

const [role, json] = process.argv.slice(2);
const opts = JSON.parse(json);
let stop = async () => {};

const escapeHtml = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * The floor: the least a broker can do per OIDC sign-in, in bare node:http with no framework,
 * no OIDC library and no checks beyond the essential ones. /auth stores state, nonce and PKCE
 * verifier in SQLite (WAL, as Fedbridge) and redirects; /callback/oidc takes them back, redeems
 * the code at the token endpoint (keep-alive node:http, Basic auth), checks the ID token's RS256
 * signature (node:crypto, synchronous) and its iss/aud/nonce/exp, signs an ES256 token
 * (node:crypto) and answers the auto-posting wresult page. Not a product: the bench's measure of
 * how far below the IdP's CPU any broker on Node could go.
 */
async function startFloor(opts) {
  const { createServer, request, Agent } = await import('node:http');
  const { createHash, createPublicKey, generateKeyPairSync, randomBytes, sign, verify } = await import('node:crypto');
  const { default: Database } = await import('better-sqlite3');
  const dir = mkdtempSync(join(tmpdir(), 'fedbridge-bench-floor-'));
  const db = new Database(join(dir, 'floor.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec('CREATE TABLE tx (state TEXT PRIMARY KEY, data TEXT NOT NULL, expires_at INTEGER NOT NULL)');
  const put = db.prepare('INSERT INTO tx (state, data, expires_at) VALUES (?, ?, ?)');
  const take = db.prepare('DELETE FROM tx WHERE state = ? RETURNING data, expires_at');
  const meta = await (await fetch(`${opts.issuer}/.well-known/openid-configuration`)).json();
  const jwks = await (await fetch(meta.jwks_uri)).json();
  const idpKeys = new Map(jwks.keys.map((k) => [k.kid, createPublicKey({ key: k, format: 'jwk' })]));
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const agent = new Agent({ keepAlive: true });
  const base = `http://127.0.0.1:${opts.port}`;
  const redirectUri = `${base}/callback/oidc`;
  const basic = `Basic ${Buffer.from(`bench:${opts.secret}`).toString('base64')}`;
  const b64u = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const token = (form) =>
    new Promise((resolve, reject) => {
      const body = form.toString();
      const req = request(meta.token_endpoint, { method: 'POST', agent, headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body) } }, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => (res.statusCode === 200 ? resolve(JSON.parse(Buffer.concat(chunks).toString())) : reject(new Error(`token endpoint ${res.statusCode}`))));
      });
      req.on('error', reject);
      req.end(body);
    });
  const fail = (res, status) => {
    res.writeHead(status, { 'content-type': 'text/plain' });
    res.end('failed');
  };
  const server = createServer(async (req, res) => {
    const url = new URL(req.url, base);
    try {
      if (url.pathname === '/auth') {
        const state = randomBytes(16).toString('base64url');
        const nonce = randomBytes(16).toString('base64url');
        const verifier = randomBytes(32).toString('base64url');
        put.run(state, JSON.stringify({ nonce, verifier, appru: url.searchParams.get('appru') }), Date.now() + 900_000);
        const to = new URL(meta.authorization_endpoint);
        for (const [k, v] of Object.entries({ client_id: 'bench', redirect_uri: redirectUri, response_type: 'code', scope: 'openid profile email', state, nonce, code_challenge: createHash('sha256').update(verifier).digest('base64url'), code_challenge_method: 'S256', login_hint: url.searchParams.get('login_hint') ?? '' })) to.searchParams.set(k, v);
        res.writeHead(302, { location: to.href });
        return res.end();
      }
      if (url.pathname === '/callback/oidc') {
        const row = take.get(url.searchParams.get('state') ?? '');
        if (!row || row.expires_at < Date.now()) return fail(res, 400);
        const tx = JSON.parse(row.data);
        const answer = await token(new URLSearchParams({ grant_type: 'authorization_code', code: url.searchParams.get('code') ?? '', redirect_uri: redirectUri, code_verifier: tx.verifier }));
        const [h, p, sig] = answer.id_token.split('.');
        const header = JSON.parse(Buffer.from(h, 'base64url').toString());
        const key = idpKeys.get(header.kid);
        if (header.alg !== 'RS256' || !key || !verify('sha256', Buffer.from(`${h}.${p}`), key, Buffer.from(sig, 'base64url'))) return fail(res, 502);
        const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
        if (claims.iss !== meta.issuer || claims.aud !== 'bench' || claims.nonce !== tx.nonce || claims.exp * 1000 < Date.now()) return fail(res, 502);
        const now = Math.floor(Date.now() / 1000);
        const input = `${b64u({ alg: 'ES256', kid: 'floor', typ: 'JWT' })}.${b64u({ iss: base, aud: 'urn:bench', sub: claims.sub, upn: claims.email, iat: now, nbf: now, exp: now + 600, jti: randomBytes(16).toString('base64url') })}`;
        const wresult = `${input}.${sign('sha256', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`;
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        return res.end(`<!doctype html><html><body><form method="post" action="${escapeHtml(tx.appru)}"><input type="hidden" name="wresult" value="${wresult}"><button>Continue</button></form></body></html>`);
      }
      fail(res, 404);
    } catch {
      fail(res, 500);
    }
  });
  server.listen(opts.port, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  return {
    stop: async () => {
      await new Promise((r) => server.close(r));
      db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

if (role === 'idp') {
  // The load suite's IdP (test/load/idp.mjs), with the bench's client and its 50 users.
  const { startTestIdp } = await import('../test/load/idp.mjs');
  const users = Array.from({ length: 50 }, (_, i) => ({ login: `user${i}@bench.example`, password: 'bench-password', claims: { email: `user${i}@bench.example`, groups: ['g1'] } }));
  const clients = [{ client_id: 'bench', client_secret: opts.secret, redirect_uris: opts.redirectUris, token_endpoint_auth_method: 'client_secret_basic' }];
  const server = await startTestIdp({ port: opts.port, clients, users });
  stop = async () => new Promise((r) => server.close(r));
} else if (role === 'floor') {
  ({ stop } = await startFloor(opts));
} else {
  stop = await startFedbridge(opts.port, { kind: 'oidc', issuer: opts.issuer, clientId: 'bench', clientSecret: opts.secret, tokenEndpointAuthMethod: 'client_secret_basic' }, 'oidc-pages');
}

serveParent(() => stop());
