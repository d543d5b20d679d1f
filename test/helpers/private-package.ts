/**
 * A private copy of the package for tests that run the `fedbridge` bin: built as `npm install`
 * (prepare) does, with the same tsconfig, into a temp dir, so the shared dist/ is left alone
 * (benchmarks and other runs read it). node_modules and views are linked from the checkout.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const ROOT = join(import.meta.dirname, '..', '..');

/** Returns the package dir; throws when the build produced no CLI. */
export async function buildPrivatePackage(prefix: string): Promise<string> {
  const pkg = mkdtempSync(join(tmpdir(), prefix));
  // Type errors elsewhere in the tree still emit JavaScript; what matters is that the CLI runs.
  try {
    await promisify(execFile)('npx', ['tsc', '-p', 'tsconfig.build.json', '--outDir', join(pkg, 'dist')], { cwd: ROOT, timeout: 120_000 });
  } catch (err) {
    console.warn(`tsc -p tsconfig.build.json reported errors:\n${(err as { stdout?: string }).stdout ?? err}`);
  }
  mkdirSync(join(pkg, 'bin'));
  copyFileSync(join(ROOT, 'bin', 'fedbridge.js'), join(pkg, 'bin', 'fedbridge.js'));
  copyFileSync(join(ROOT, 'package.json'), join(pkg, 'package.json'));
  symlinkSync(join(ROOT, 'node_modules'), join(pkg, 'node_modules'));
  symlinkSync(join(ROOT, 'views'), join(pkg, 'views'));
  if (!existsSync(join(pkg, 'dist', 'src', 'cli', 'main.js'))) throw new Error(`no CLI built in ${pkg}`);
  return pkg;
}
