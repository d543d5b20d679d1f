/** Write-only secrets (docs/admin-api.md, Tenants): what is hidden, what a replace keeps, what it drops. */
import { expect, it } from 'vitest';
import { keepSecrets, secretValues, stripSecrets } from '../../src/tenants/secrets.js';

const stored = {
  id: 't',
  branding: { strings: { 'password.title': 'Kennwort' } },
  idp: {
    kind: 'local',
    users: [
      { upn: 'ann@t.test', passwordHash: 'HASH-ANN', groups: ['a'] },
      { upn: 'bob@t.test', passwordHash: 'HASH-BOB' },
    ],
  },
};

it('strips every secret of the idp, and only there (a message key named like a secret stays)', () => {
  const shown = stripSecrets(stored);
  expect(JSON.stringify(shown)).not.toContain('HASH-');
  expect(shown).toMatchObject({ branding: { strings: { 'password.title': 'Kennwort' } }, idp: { users: [{ upn: 'ann@t.test', groups: ['a'] }, { upn: 'bob@t.test' }] } });
  expect(secretValues(stored).sort()).toEqual(['HASH-ANN', 'HASH-BOB']);
  const oidc = { idp: { kind: 'oidc', clientId: 'c', clientSecret: 'S', tokenEndpointAuthMethod: 'client_secret_post' } };
  expect(stripSecrets(oidc)).toEqual({ idp: { kind: 'oidc', clientId: 'c', tokenEndpointAuthMethod: 'client_secret_post' } });
  expect(stripSecrets({ idp: { kind: 'saml', spKeyFile: '/k.pem', spCertFile: '/c.pem' } })).toEqual({ idp: { kind: 'saml', spCertFile: '/c.pem' } });
});

it('a replace keeps left-out secrets, matching users by upn (reordered, case-insensitive), not for a new user', () => {
  const next = {
    id: 't',
    idp: { kind: 'local', users: [{ upn: 'BOB@t.test' }, { upn: 'ann@t.test', passwordHash: 'HASH-NEW' }, { upn: 'cy@t.test' }] },
  };
  expect(keepSecrets(next, stored)).toEqual({
    id: 't',
    idp: {
      kind: 'local',
      users: [{ upn: 'BOB@t.test', passwordHash: 'HASH-BOB' }, { upn: 'ann@t.test', passwordHash: 'HASH-NEW' }, { upn: 'cy@t.test' }],
    },
  });
});

it('null removes a secret; another kind carries no secret over', () => {
  const oidc = { idp: { kind: 'oidc', clientId: 'c', clientSecret: 'S' } };
  expect(keepSecrets({ idp: { kind: 'oidc', clientId: 'c2' } }, oidc)).toEqual({ idp: { kind: 'oidc', clientId: 'c2', clientSecret: 'S' } });
  expect(keepSecrets({ idp: { kind: 'oidc', clientId: 'c', clientSecret: null } }, oidc)).toEqual({ idp: { kind: 'oidc', clientId: 'c' } });
  expect(keepSecrets({ idp: { kind: 'saml', metadataUrl: 'https://m' } }, { idp: { kind: 'saml', spKeyFile: '/k', spCertFile: '/c' } })).toEqual({
    idp: { kind: 'saml', metadataUrl: 'https://m', spKeyFile: '/k' },
  });
  expect(keepSecrets({ idp: { kind: 'wsfed', metadataUrl: 'https://m' } }, oidc)).toEqual({ idp: { kind: 'wsfed', metadataUrl: 'https://m' } });
  // A body that is not an object is left for the validator to refuse.
  expect(keepSecrets('x', oidc)).toBe('x');
});
