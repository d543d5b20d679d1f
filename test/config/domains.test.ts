/** How tenant domains and user names are compared (README "The sign-in flow": case-insensitively, without a trailing dot). */
import { describe, expect, it } from 'vitest';
import { domainOf, sameUser } from '../../src/config/domains.js';

describe('domainOf', () => {
  it.each([
    ['ann@contoso.com', 'contoso.com'],
    ['Ann@CONTOSO.Com', 'contoso.com'],
    ['ann@contoso.com.', 'contoso.com'],
    ['ann@contoso.com ', 'contoso.com'],
    // The last @ decides: what a mail system would deliver to.
    ['ann@contoso.com@evil.example', 'evil.example'],
    ['"a@b"@fabrikam.com', 'fabrikam.com'],
    // Only one trailing dot is the root; two is no domain of anyone's.
    ['ann@contoso.com..', 'contoso.com.'],
  ])('%j → %j', (upn, domain) => {
    expect(domainOf(upn)).toBe(domain);
  });

  it.each(['ann', 'CONTOSO\\ann', '@contoso.com', 'ann@', 'ann@.', 'ann@ ', ''])('%j has no domain', (upn) => {
    expect(domainOf(upn)).toBeNull();
  });
});

describe('sameUser', () => {
  it('compares case-insensitively and without the trailing dot', () => {
    expect(sameUser('Ann@Contoso.com.', 'ann@contoso.com')).toBe(true);
    expect(sameUser('ANN@contoso.com', 'ann@CONTOSO.COM')).toBe(true);
  });
  it('tells different users and domains apart', () => {
    expect(sameUser('ann@contoso.com', 'ben@contoso.com')).toBe(false);
    expect(sameUser('ann@contoso.com', 'ann@contoso.com.evil.example')).toBe(false);
    expect(sameUser('ann@contoso.com', 'ann@contoso.com@evil.example')).toBe(false);
    expect(sameUser('ann', 'ann@contoso.com')).toBe(false);
  });
});
