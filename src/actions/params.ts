/** Reading request parameters that must be single strings of bounded length. */
import { badRequest } from '../errors.js';

export function oneString(source: Record<string, unknown>, name: string, max = 256): string | null {
  const v = source[name];
  if (v === undefined || v === null || v === '') return null;
  if (typeof v !== 'string') throw badRequest('invalid_request', `${name} must be given once`);
  if (v.length > max) throw badRequest('invalid_request', `${name} is longer than ${max} characters`);
  return v;
}

export function requiredString(source: Record<string, unknown>, name: string, max = 256): string {
  const v = oneString(source, name, max);
  if (v === null) throw badRequest('invalid_request', `${name} is required`);
  return v;
}

/**
 * A query parameter decoded WITHOUT turning '+' into a space. UPNs may contain '+'
 * (ann+mdm@contoso.com) and a client that does not percent-encode it must not lose it;
 * a real space would be %20 and no UPN has one.
 */
export function literalQueryParam(querystring: string, name: string, max = 256): string | null {
  const values: string[] = [];
  for (const pair of querystring.split('&')) {
    const eq = pair.indexOf('=');
    const key = eq === -1 ? pair : pair.slice(0, eq);
    if (key !== name) continue;
    try {
      values.push(decodeURIComponent(eq === -1 ? '' : pair.slice(eq + 1)));
    } catch {
      throw badRequest('invalid_request', `${name} is not correctly URL-encoded`);
    }
  }
  return oneString({ [name]: values.length > 1 ? values : values[0] }, name, max);
}
