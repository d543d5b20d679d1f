/** What every refused sign-in must look like: a branded error page, its code shown, no token. */
import { expect } from 'vitest';
import { forms, hiddenValue } from '../../helpers/html.js';

export function expectErrorPage(res: Response, html: string, status: number, code: string): void {
  expect({ status: res.status, code: /<code>([^<]*)<\/code>/.exec(html)?.[1] }).toEqual({ status, code });
  expect(res.headers.get('content-type')).toMatch(/^text\/html/);
  expect(html).not.toContain('wresult');
  expect(hiddenValue(html, 'wresult')).toBeNull();
  expect(forms(html).filter((f) => f.method.toLowerCase() === 'post')).toEqual([]);
}
