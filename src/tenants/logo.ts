/**
 * Tenant logos (docs/admin-api.md "Tenant logo"): a PNG, JPEG or SVG of at most 512 KiB, judged
 * by its bytes, not only by the Content-Type the admin client claims.
 */
import { FedbridgeError, badRequest } from '../errors.js';
import { parseXml, XmlError } from '../soap/xml.js';
import type { TenantLogo } from '../store/types.js';

export const LOGO_MAX_BYTES = 512 * 1024;
export const LOGO_TYPES = ['image/png', 'image/jpeg', 'image/svg+xml'] as const;
export type LogoType = TenantLogo['contentType'];

const PNG_MAGIC = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const JPEG_MAGIC = Buffer.from([0xff, 0xd8, 0xff]);
const SVG_NS = 'http://www.w3.org/2000/svg';

export function isLogoType(v: string): v is LogoType {
  return (LOGO_TYPES as readonly string[]).includes(v);
}

/**
 * Throws invalid_logo (415 for a type not accepted, 413 over the size, 400 for bytes that are
 * not what the type says). Never echoes the bytes.
 */
export function checkLogo(contentType: string, bytes: Buffer): LogoType {
  const type = contentType.split(';')[0].trim().toLowerCase();
  if (!isLogoType(type)) throw new FedbridgeError(415, 'invalid_logo', 'a logo is image/png, image/jpeg or image/svg+xml');
  if (bytes.length > LOGO_MAX_BYTES) throw new FedbridgeError(413, 'invalid_logo', `a logo is at most ${LOGO_MAX_BYTES} bytes`);
  if (bytes.length === 0) throw badRequest('invalid_logo', 'the logo is empty');
  if (type === 'image/png' && !bytes.subarray(0, PNG_MAGIC.length).equals(PNG_MAGIC)) {
    throw badRequest('invalid_logo', 'the body is not a PNG image (wrong signature)');
  }
  if (type === 'image/jpeg' && !bytes.subarray(0, JPEG_MAGIC.length).equals(JPEG_MAGIC)) {
    throw badRequest('invalid_logo', 'the body is not a JPEG image (wrong signature)');
  }
  if (type === 'image/svg+xml') checkSvg(bytes);
  return type;
}

/** Well-formed XML (no DTD: src/soap/xml.ts) whose root is an SVG `<svg>` element. */
function checkSvg(bytes: Buffer): void {
  const text = new TextDecoder('utf-8', { fatal: false }).decode(bytes);
  let root;
  try {
    root = parseXml(text, { maxBytes: LOGO_MAX_BYTES }).documentElement;
  } catch (err) {
    if (err instanceof XmlError) throw badRequest('invalid_logo', `the body is not a usable SVG document (${err.code})`);
    throw err;
  }
  if (!root || root.localName !== 'svg' || root.namespaceURI !== SVG_NS) {
    throw badRequest('invalid_logo', `the root element must be <svg> in the ${SVG_NS} namespace`);
  }
}
