/**
 * Pixel comparison of a page with its committed reference picture (docs/branding.md "Tests",
 * docs/console.md): pixelmatch at threshold 0.1, at most MAX_DIFF_PIXELS differing pixels, the same rule as
 * test/browser/screenshots.test.ts. FEDBRIDGE_UPDATE_SCREENSHOTS=1 writes the references instead.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { PNG } from 'pngjs';
import pixelmatch from 'pixelmatch';

export const UPDATE = !!process.env.FEDBRIDGE_UPDATE_SCREENSHOTS;
/** Pixels may differ this much (anti-aliasing aside) before a page counts as changed: a changed word is several hundred. */
export const MAX_DIFF_PIXELS = 60;

export interface Comparison {
  diffPixels: number;
  sizeMismatch: string | null;
  diff?: PNG;
}

export function compare(actual: PNG, expected: PNG): Comparison {
  if (actual.width !== expected.width || actual.height !== expected.height) {
    return { diffPixels: Infinity, sizeMismatch: `${actual.width}×${actual.height}, reference ${expected.width}×${expected.height}` };
  }
  const diff = new PNG({ width: actual.width, height: actual.height });
  const diffPixels = pixelmatch(actual.data, expected.data, diff.data, actual.width, actual.height, { threshold: 0.1 });
  return { diffPixels, sizeMismatch: null, diff };
}

/**
 * Compares a picture with the reference file (or writes it when updating). A difference throws,
 * naming a temp folder with the new picture and the difference.
 */
export function matchReference(shot: Buffer, ref: string, regenerate: string): void {
  if (UPDATE) {
    mkdirSync(dirname(ref), { recursive: true });
    writeFileSync(ref, shot);
    return;
  }
  if (!existsSync(ref)) throw new Error(`no reference ${ref}: run FEDBRIDGE_UPDATE_SCREENSHOTS=1 ${regenerate}`);
  const result = compare(PNG.sync.read(shot), PNG.sync.read(readFileSync(ref)));
  if (result.sizeMismatch || result.diffPixels > MAX_DIFF_PIXELS) {
    const file = basename(ref);
    const out = mkdtempSync(join(tmpdir(), 'fedbridge-screenshot-'));
    writeFileSync(join(out, file), shot);
    if (result.diff) writeFileSync(join(out, file.replace(/\.png$/, '.diff.png')), PNG.sync.write(result.diff));
    throw new Error(
      `${file} differs from its reference: ${result.sizeMismatch ?? `${result.diffPixels} pixels (at most ${MAX_DIFF_PIXELS})`}; the new picture and the difference are in ${out}`,
    );
  }
}
