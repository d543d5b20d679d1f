/**
 * The shared validator against a WS-Fed IdP nobody here wrote: SimpleSAMLphp's `adfs` module
 * (WS-Trust 2005/02 RSTR with an XML declaration and indentation, SAML 1.1, `pfx…` IDs,
 * signature as the assertion's last child, no SubjectConfirmation; PROTOCOL.md §8).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { identityFromAssertion, readWsFedMetadata } from '../../../src/upstreams/assertion/index.js';
import { CookieJar, signInAtIdp, startSimpleSamlPhp, wsfedSignInUrl, type SimpleSamlPhp } from '../../helpers/simplesamlphp.js';
import { expectRefused, replaySet, validateAssertion } from './helpers.js';

const SP = 'http://127.0.0.1:9';
const WSFED_SP = { realm: `${SP}/wsfed/contoso`, wreply: `${SP}/wsfed/contoso` };
const ALICE = {
  username: 'alice',
  password: 'alice-pw',
  upn: 'alice@contoso.com',
  email: 'alice@contoso.com',
  name: 'Alice Example',
  groups: ['Domain Users', 'MDM Enrollers'],
};

describe('SimpleSAMLphp WS-Fed answers through the validator', () => {
  let ssp: SimpleSamlPhp;
  let certs: string[];
  let wresult: string;

  beforeAll(async () => {
    ssp = await startSimpleSamlPhp({ users: [ALICE], wsfedSps: [WSFED_SP] });
    const md = readWsFedMetadata(await (await fetch(ssp.wsfed.metadataUrl)).text());
    expect(md.passiveEndpoint).toBe(ssp.wsfed.passiveEndpoint);
    certs = md.signingCertificates;
    const url = wsfedSignInUrl({ passiveEndpoint: md.passiveEndpoint!, realm: WSFED_SP.realm, wreply: WSFED_SP.wreply, wctx: 'tx-1' });
    const { form } = await signInAtIdp(new CookieJar(), url, ALICE, ['wa', 'wresult', 'wctx']);
    wresult = form.fields.wresult!;
  }, 60_000);
  afterAll(async () => {
    await ssp?.stop();
  });

  it('accepts the genuine answer and maps its claims', async () => {
    const a = await validateAssertion(wresult, { certificates: certs, audience: WSFED_SP.realm, issuer: ssp.wsfed.entityId, seen: replaySet() });
    expect(a.samlVersion).toBe('1.1');
    expect(a.assertionId).toMatch(/^pfx/);
    expect(identityFromAssertion(a)).toMatchObject({
      upn: ALICE.upn,
      email: ALICE.email,
      name: ALICE.name,
      groups: ALICE.groups,
    });
  });

  it('refuses it tampered, for another realm, or replayed', async () => {
    const check = { certificates: certs, audience: WSFED_SP.realm, seen: replaySet() };
    await expectRefused(validateAssertion(wresult.replace(`>${ALICE.upn}<`, '>ceo@contoso.com<'), check), 'assertion_invalid_signature');
    await expectRefused(validateAssertion(wresult, { ...check, audience: `${SP}/wsfed/other` }), 'assertion_wrong_audience');
    await validateAssertion(wresult, check);
    await expectRefused(validateAssertion(wresult, check), 'assertion_replayed');
  });
});
