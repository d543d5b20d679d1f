/** verifyPassword judges hashes by the same rules as the config schema (src/upstreams/local/password.ts). */
import { expect, it } from 'vitest';
import { hashPasswordSync, isPasswordHash, verifyPassword } from '../../src/upstreams/local/password.js';

it('a hash scrypt would refuse (N not a power of two, or too much memory) is a wrong password, never a thrown error', async () => {
  const good = hashPasswordSync('pw');
  const [, , r, p, salt, key] = good.split('$');
  for (const n of ['3000', String(1 << 20)]) {
    const bad = ['scrypt', n, r, p, salt, key].join('$');
    expect(isPasswordHash(bad)).toBe(false);
    await expect(verifyPassword('pw', bad)).resolves.toBe(false);
  }
  await expect(verifyPassword('pw', good)).resolves.toBe(true);
});
