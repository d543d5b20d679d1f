/**
 * A real PKCS#10 certificate request, as the Enroll (RST) body carries it: an MDM
 * that signs the device certificate needs one that parses and verifies. Node has
 * no CSR builder, so this is the few DER structures RFC 2986 needs, by hand.
 */
import { generateKeyPairSync, sign } from 'node:crypto';

function len(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v >>= 8) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

const tlv = (tag: number, ...content: Buffer[]) => {
  const body = Buffer.concat(content);
  return Buffer.concat([Buffer.from([tag]), len(body.length), body]);
};
const seq = (...c: Buffer[]) => tlv(0x30, ...c);
const set = (...c: Buffer[]) => tlv(0x31, ...c);

function oid(dotted: string): Buffer {
  const [a, b, ...rest] = dotted.split('.').map(Number) as [number, number, ...number[]];
  const out = [40 * a + b];
  for (const n of rest) {
    const chunk = [n & 0x7f];
    for (let v = n >> 7; v > 0; v >>= 7) chunk.unshift((v & 0x7f) | 0x80);
    out.push(...chunk);
  }
  return tlv(0x06, Buffer.from(out));
}

const OID_CN = '2.5.4.3';
const OID_SHA256_RSA = '1.2.840.113549.1.1.11';

/** Base64 DER of a SHA256withRSA CSR for CN=<commonName> with a fresh 2048-bit key. */
export function makeCsrBase64(commonName: string): string {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  const subject = seq(set(seq(oid(OID_CN), tlv(0x0c, Buffer.from(commonName, 'utf8')))));
  const info = seq(tlv(0x02, Buffer.from([0])), subject, spki, tlv(0xa0)); // version 0, no attributes
  const signature = sign('sha256', info, privateKey);
  const algorithm = seq(oid(OID_SHA256_RSA), tlv(0x05));
  // BIT STRING: a leading 0 says no unused bits.
  return seq(info, algorithm, tlv(0x03, Buffer.from([0]), signature)).toString('base64');
}
