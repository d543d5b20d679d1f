/**
 * docs/configuration.md is generated from the zod schema (issue #10): this test fails when the
 * committed file is out of date (run `npm run docs:config`) or when a key has no `.describe()`.
 */
import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { configReference, configRows } from '../../scripts/config-reference.js';

const ROOT = join(import.meta.dirname, '..', '..');
const committed = () => readFileSync(join(ROOT, 'docs', 'configuration.md'), 'utf8');

describe('docs/configuration.md', () => {
  it('is what the schema generates (otherwise: npm run docs:config, and commit the result)', () => {
    expect(committed(), 'docs/configuration.md is out of date: run `npm run docs:config`').toBe(configReference());
  });

  it('every key of the schema has a one-line meaning', () => {
    const { main, kinds } = configRows();
    const rows = [...main, ...kinds.flatMap((k) => k.rows)];
    expect(rows.filter((r) => !r.description?.trim()).map((r) => r.key)).toEqual([]);
    expect(rows.filter((r) => r.description!.includes('\n')).map((r) => r.key)).toEqual([]);
  });

  it('has every section and the keys with their defaults, as the loader applies them', () => {
    const doc = committed();
    for (const kind of ['local', 'oidc', 'saml', 'wsfed', 'wstrust']) expect(doc).toContain(`## \`tenants[].idp\` with \`kind: ${kind}\``);
    expect(doc).toMatch(/^\| `tokens\.ttlSeconds` \| integer 30–3600 \| `600` \| /m);
    expect(doc).toMatch(/^\| `tenants\[\]\.policy\.requireHintMatch` \| boolean \| `true` \| /m);
    expect(doc).toMatch(/^\| `tenants\[\]\.idp\.users\[\]\.passwordHash` \(required\) \| string \| {2}\| /m);
    expect(doc).toMatch(/^\| `store\.url` \| string \| {2}\| \(`kind: redis`\) /m);
  });

  it('`npm run docs:config` (scripts/config-docs.js) writes exactly this text', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fedbridge-docs-'));
    try {
      const out = join(dir, 'configuration.md');
      await promisify(execFile)(process.execPath, [join(ROOT, 'scripts', 'config-docs.js'), out], { cwd: ROOT, timeout: 60_000 });
      expect(readFileSync(out, 'utf8')).toBe(committed());
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
