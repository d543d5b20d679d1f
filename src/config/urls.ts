/** URL rules shared by config validation and request handling. */
import { z } from 'zod';

/** Loopback hosts: the only places plain http:// is allowed (docs/configuration.md). */
export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1') return true;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/** An absolute https URL, or http on loopback. Returns an error message or null. */
export function checkSecureUrl(value: string): string | null {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    return 'is not an absolute URL';
  }
  if (u.protocol === 'https:') return null;
  if (u.protocol === 'http:') return isLoopbackHost(u.hostname) ? null : 'must use https:// (http:// only on a loopback host)';
  return 'must be an https:// URL';
}

/** A config value that must be a secure URL (checkSecureUrl), for schemas here and in upstream kinds. */
export const secureUrl = z.string().superRefine((v, ctx) => {
  const problem = checkSecureUrl(v);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});
