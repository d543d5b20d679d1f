/**
 * The SAML SP's RSA key and self-signed certificate (docs/configuration.md): IdPs need an X.509
 * certificate, which the ES256 token-signing JWKs do not have. Generated into keys.dir on first
 * need (`saml-sp.key.pem` mode 0600, `saml-sp.crt.pem`), shared by every instance like the
 * signing keys, or read from `spKeyFile`/`spCertFile`. Files are written atomically; when two
 * instances race, the first rename wins and both then read the same files.
 */
import { webcrypto, randomBytes, createPrivateKey } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
// @peculiar/x509 reads decorator metadata: the polyfill must load first.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';

export interface SpKeyPair {
  privateKeyPem: string;
  certificatePem: string;
}

const KEY_FILE = 'saml-sp.key.pem';
const CERT_FILE = 'saml-sp.crt.pem';
/** Ten years: the certificate only carries the key; IdPs pin it from the SP metadata. */
const VALIDITY_MS = 10 * 365 * 24 * 3600_000;

function readPair(keyPath: string, certPath: string): SpKeyPair {
  const privateKeyPem = readFileSync(keyPath, 'utf8');
  const certificatePem = readFileSync(certPath, 'utf8');
  // Fail at start-up on a file that is not what it says.
  createPrivateKey(privateKeyPem);
  new x509.X509Certificate(certificatePem);
  return { privateKeyPem, certificatePem };
}

async function generate(name: string, now: number): Promise<SpKeyPair> {
  // Node's WebCrypto is the provider (its type is not the DOM lib's Crypto, which src does not load).
  x509.cryptoProvider.set(webcrypto as never);
  const alg = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256', publicExponent: new Uint8Array([1, 0, 1]), modulusLength: 2048 };
  const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomBytes(8).toString('hex'),
    name: `CN=${name.replace(/[,=+<>#;"\\]/g, '_')}`,
    notBefore: new Date(now - 3600_000),
    notAfter: new Date(now + VALIDITY_MS),
    signingAlgorithm: alg,
    keys,
  });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  const privateKeyPem = `-----BEGIN PRIVATE KEY-----\n${pkcs8.toString('base64').replace(/.{64}/g, '$&\n').trim()}\n-----END PRIVATE KEY-----\n`;
  return { privateKeyPem, certificatePem: cert.toString('pem') + '\n' };
}

function writeAtomic(path: string, text: string, mode: number): void {
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  writeFileSync(tmp, text, { mode });
  renameSync(tmp, path);
}

/** Reads the configured files, or the generated pair in keysDir, generating it when missing. */
export async function loadSpKeyPair(opts: { keysDir: string; keyFile?: string; certFile?: string; name: string; now: number }): Promise<SpKeyPair> {
  if (opts.keyFile && opts.certFile) return readPair(opts.keyFile, opts.certFile);
  const keyPath = join(opts.keysDir, KEY_FILE);
  const certPath = join(opts.keysDir, CERT_FILE);
  if (existsSync(keyPath) && existsSync(certPath)) return readPair(keyPath, certPath);
  const pair = await generate(opts.name, opts.now);
  mkdirSync(opts.keysDir, { recursive: true });
  // Certificate first, key last: a reader that sees the key also sees its certificate.
  if (!existsSync(keyPath)) {
    writeAtomic(certPath, pair.certificatePem, 0o644);
    writeAtomic(keyPath, pair.privateKeyPem, 0o600);
  }
  return readPair(keyPath, certPath);
}
