/**
 * appru decides where the token is POSTed, so it is checked before anything else:
 * `ms-app://<name>` (only the device window can receive it) when `ms-app:` is an
 * allowed scheme, or exactly an `appru.allow` entry. Everything else is refused.
 */
import type { Config } from '../config/load.js';
import { badRequest } from '../errors.js';

const MS_APP = /^ms-app:\/\/[A-Za-z0-9._-]+(\/[A-Za-z0-9._~\/-]*)?$/;
const MAX_APPRU = 2048;

export interface CheckedAppru {
  appru: string;
  /** CSP form-action source that lets the wresult form post there and nowhere else. */
  formAction: string;
}

/** The appru addresses allowed in this configuration besides ms-app://. */
export function allowedAppru(config: Config): string[] {
  return config.demo ? [...config.appru.allow, `${config.server.publicUrl}/demo/device`] : config.appru.allow;
}

export function checkAppru(value: unknown, config: Config): CheckedAppru {
  if (Array.isArray(value)) throw badRequest('invalid_appru', 'appru must be given once');
  if (typeof value !== 'string' || value.length === 0) throw badRequest('missing_appru', 'appru is required');
  if (value.length > MAX_APPRU) throw badRequest('invalid_appru', 'appru too long');
  if (config.appru.schemes.includes('ms-app:') && MS_APP.test(value)) return { appru: value, formAction: 'ms-app:' };
  if (allowedAppru(config).includes(value)) return { appru: value, formAction: new URL(value).origin };
  throw badRequest('invalid_appru', 'appru is not an allowed return address');
}

export function formActionFor(appru: string): string {
  return appru.startsWith('ms-app:') ? 'ms-app:' : new URL(appru).origin;
}
