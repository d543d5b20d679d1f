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
