/** Shared set-up of the assertion tests: the AD FS fixture, its trusted certificates, a replay set. */
import { expect } from 'vitest';
import { FedbridgeError } from '../../../src/errors.js';
import { readWsFedMetadata, validateAssertion, type AssertionCheck, type ValidatedAssertion } from '../../../src/upstreams/assertion/index.js';
import { readAutoPostForm, wsfedSignIn, type AdfsFixture } from '../../fixtures/adfs/index.js';

export const REALM = 'https://fedbridge.test/wsfed/contoso';
export const WREPLY = 'https://fedbridge.test/wsfed/contoso';
export const ALICE = { username: 'alice@contoso.com', password: 'Correct horse 1!' };

/** The one-time ID store the validator asks (in memory here; the store backs it in the service). */
export function replaySet(): AssertionCheck['seen'] & { ids: Map<string, number> } {
  const ids = new Map<string, number>();
  const seen = async (id: string, expiresAt: number) => {
    if (ids.has(id)) return true;
    ids.set(id, expiresAt);
    return false;
  };
  return Object.assign(seen, { ids });
}

export async function trustedCertificates(idp: AdfsFixture): Promise<string[]> {
  const res = await fetch(idp.metadataUrl);
  return readWsFedMetadata(await res.text()).signingCertificates;
}

/** A genuine wresult from the fixture's passive endpoint. */
export async function genuineWresult(idp: AdfsFixture, wctx = 'tx-1'): Promise<string> {
  const page = await wsfedSignIn(idp, { realm: REALM, wreply: WREPLY, wctx, ...ALICE });
  const form = readAutoPostForm(page.html);
  if (!form?.fields.wresult) throw new Error(`no auto-POST form (${page.status})`);
  return form.fields.wresult;
}

export async function expectRefused(
  answer: Promise<ValidatedAssertion> | (() => Promise<unknown>),
  code: string,
): Promise<void> {
  const p = typeof answer === 'function' ? answer() : answer;
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err, `expected refusal ${code}`).toBeInstanceOf(FedbridgeError);
  expect((err as FedbridgeError).code).toBe(code);
  expect((err as FedbridgeError).status).toBeLessThan(code === 'metadata_invalid' ? 600 : 500);
}

export { validateAssertion };
