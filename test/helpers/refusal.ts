import { expect } from 'vitest';
import { FedbridgeError } from '../../src/errors.js';

/** The FedbridgeError `p` rejects with (docs/errors.md); fails the test when it resolves or rejects otherwise. */
export async function refusal(p: Promise<unknown>): Promise<FedbridgeError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(FedbridgeError);
  return err as FedbridgeError;
}
