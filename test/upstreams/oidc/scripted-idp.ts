/**
 * A small OpenID provider written for the negative tests, shaped like Entra ID's v2.0
 * endpoints: `/{tenant}/v2.0/.well-known/openid-configuration`, where `organizations` and
 * `common` advertise the `{tenantid}` issuer template, and ID tokens carry `tid` with the
 * issuer of that tid. It signs in whoever comes (no pages) and lets a test script the next
 * ID token (claims, header, key), answer an error, or stall any endpoint.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey, type JWK } from 'jose';

export const TID_A = '11111111-1111-4111-8111-111111111111';
export const TID_B = '22222222-2222-4222-8222-222222222222';

export interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

export async function newKey(kid: string): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  return { kid, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' } };
}

export interface TokenScript {
  /** Claims merged over the defaults (undefined deletes one). */
  claims?: Record<string, unknown>;
  /** Sign with this key instead of the published one (its kid goes in the header). */
  key?: SigningKey;
  /** 'none': an unsigned token; 'HS256': signed with the client secret. */
  alg?: 'none' | 'HS256';
}

export type Stall = 'discovery' | 'token' | 'token-body' | 'jwks';

interface Pending {
  clientId: string;
  redirectUri: string;
  nonce: string;
  challenge: string;
  tenant: string;
}

export class ScriptedIdp {
  url = '';
  /** The user every sign-in gets (defaults overridable per test). */
  user: Record<string, unknown> = {};
  /** Applied to the next ID token only. */
  next: TokenScript | null = null;
  /** The next authorization answers with this OAuth error instead of a code. */
  nextError: string | null = null;
  /** Send the RFC 9207 `iss` callback parameter (Entra does not): true for the right one, or this value. */
  sendIssParam: boolean | string = false;
  stall = new Set<Stall>();
  /** Merged into every discovery document. */
  discoveryExtra: Record<string, unknown> = {};
  discoveryRequests = 0;
  key!: SigningKey;
  private readonly codes = new Map<string, Pending>();
  private readonly held: ServerResponse[] = [];
  private server!: Server;

  constructor(private readonly clients: Record<string, string>) {}

  static async start(clients: Record<string, string>, port = 0): Promise<ScriptedIdp> {
    const idp = new ScriptedIdp(clients);
    idp.key = await newKey('key-1');
    idp.reset();
    idp.server = createServer((req, res) => void idp.handle(req, res).catch((err) => res.writeHead(500).end(String(err))));
    await new Promise<void>((r) => idp.server.listen(port, '127.0.0.1', r));
    idp.url = `http://127.0.0.1:${(idp.server.address() as AddressInfo).port}`;
    return idp;
  }

  reset(): void {
    this.user = { sub: 'pairwise-sub-1', oid: 'oid-1', tid: TID_A, preferred_username: 'user@contoso.com', name: 'Contoso User', amr: ['pwd'] };
    this.next = null;
    this.nextError = null;
    this.sendIssParam = false;
    this.stall.clear();
    this.discoveryExtra = {};
  }

  /** The issuer an Entra directory's tokens carry. */
  issuerOf(tenant: string): string {
    return `${this.url}/${tenant}/v2.0`;
  }

  async rotateKey(): Promise<void> {
    this.key = await newKey(`key-${randomBytes(4).toString('hex')}`);
  }

  close(): Promise<void> {
    for (const res of this.held) res.destroy();
    return new Promise((r) => {
      this.server.close(() => r());
      this.server.closeAllConnections();
    });
  }

  private hold(res: ServerResponse): void {
    this.held.push(res);
  }

  private json(res: ServerResponse, status: number, body: unknown): void {
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url!, this.url);
    let m: RegExpExecArray | null;
    if ((m = /^\/([^/]+)\/v2\.0\/\.well-known\/openid-configuration$/.exec(url.pathname))) {
      this.discoveryRequests++;
      if (this.stall.has('discovery')) return this.hold(res);
      return this.json(res, 200, this.discoveryDoc(m[1]));
    }
    if (url.pathname === '/discovery/v2.0/keys') {
      if (this.stall.has('jwks')) return this.hold(res);
      return this.json(res, 200, { keys: [this.key.publicJwk] });
    }
    if ((m = /^\/([^/]+)\/oauth2\/v2\.0\/authorize$/.exec(url.pathname))) return this.authorize(m[1], url, res);
    if (/^\/([^/]+)\/oauth2\/v2\.0\/token$/.test(url.pathname) && req.method === 'POST') return this.token(req, res);
    res.writeHead(404).end();
  }

  private discoveryDoc(tenant: string): Record<string, unknown> {
    const multi = tenant === 'organizations' || tenant === 'common';
    return {
      issuer: multi ? `${this.url}/{tenantid}/v2.0` : this.issuerOf(tenant),
      authorization_endpoint: `${this.url}/${tenant}/oauth2/v2.0/authorize`,
      token_endpoint: `${this.url}/${tenant}/oauth2/v2.0/token`,
      jwks_uri: `${this.url}/discovery/v2.0/keys`,
      response_types_supported: ['code'],
      response_modes_supported: ['query', 'form_post'],
      subject_types_supported: ['pairwise'],
      id_token_signing_alg_values_supported: ['RS256'],
      code_challenge_methods_supported: ['S256'],
      token_endpoint_auth_methods_supported: ['client_secret_post', 'client_secret_basic', 'private_key_jwt'],
      scopes_supported: ['openid', 'profile', 'email'],
      claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'nonce', 'tid', 'oid', 'preferred_username', 'name', 'amr', 'groups'],
      ...(this.sendIssParam ? { authorization_response_iss_parameter_supported: true } : {}),
      ...this.discoveryExtra,
    };
  }

  private authorize(tenant: string, url: URL, res: ServerResponse): void {
    const q = url.searchParams;
    const redirect = new URL(q.get('redirect_uri')!);
    redirect.searchParams.set('state', q.get('state') ?? '');
    if (this.nextError) {
      redirect.searchParams.set('error', this.nextError);
      redirect.searchParams.set('error_description', 'scripted <b>refusal</b>');
      this.nextError = null;
    } else {
      const code = randomBytes(16).toString('base64url');
      this.codes.set(code, {
        clientId: q.get('client_id')!,
        redirectUri: q.get('redirect_uri')!,
        nonce: q.get('nonce')!,
        challenge: q.get('code_challenge')!,
        tenant,
      });
      redirect.searchParams.set('code', code);
      const tid = String(this.next?.claims?.tid ?? this.user.tid);
      if (this.sendIssParam) redirect.searchParams.set('iss', this.sendIssParam === true ? this.issuerOf(tid) : this.sendIssParam);
    }
    res.writeHead(302, { location: redirect.href }).end();
  }

  private async token(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const form = new URLSearchParams(Buffer.concat(chunks).toString());
    if (this.stall.has('token')) return this.hold(res);

    const basic = /^Basic (.+)$/.exec(req.headers.authorization ?? '');
    const [id, secret] = basic
      ? Buffer.from(basic[1], 'base64').toString().split(':').map(decodeURIComponent)
      : [form.get('client_id'), form.get('client_secret')];
    if (!id || this.clients[id] === undefined || this.clients[id] !== secret) return this.json(res, 401, { error: 'invalid_client' });

    const pending = this.codes.get(form.get('code') ?? '');
    this.codes.delete(form.get('code') ?? '');
    const challenge = createHash('sha256').update(form.get('code_verifier') ?? '').digest('base64url');
    if (!pending || pending.clientId !== id || pending.redirectUri !== form.get('redirect_uri') || pending.challenge !== challenge) {
      return this.json(res, 400, { error: 'invalid_grant' });
    }
    const idToken = await this.idToken(pending, secret!);
    if (this.stall.has('token-body')) {
      // Headers, then nothing: the client must give up while reading the body.
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' });
      res.write('{"access_token":');
      return this.hold(res);
    }
    this.json(res, 200, { access_token: 'opaque-access-token', token_type: 'Bearer', expires_in: 3600, id_token: idToken });
  }

  private async idToken(p: Pending, secret: string): Promise<string> {
    const script = this.next ?? {};
    this.next = null;
    const now = Math.floor(Date.now() / 1000);
    const base = { ...this.user, aud: p.clientId, nonce: p.nonce, iat: now, nbf: now, exp: now + 3600 };
    const tid = String(script.claims?.tid ?? this.user.tid);
    const claims: Record<string, unknown> = { ...base, iss: this.issuerOf(tid), ...script.claims };
    for (const [k, v] of Object.entries(claims)) if (v === undefined) delete claims[k];
    if (script.alg === 'none') {
      const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
      return `${enc({ alg: 'none', typ: 'JWT' })}.${enc(claims)}.`;
    }
    if (script.alg === 'HS256') {
      return new SignJWT(claims).setProtectedHeader({ alg: 'HS256', kid: this.key.kid }).sign(new TextEncoder().encode(secret));
    }
    const key = script.key ?? this.key;
    return new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: key.kid, typ: 'JWT' }).sign(key.privateKey);
  }
}
