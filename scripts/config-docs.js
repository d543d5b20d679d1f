#!/usr/bin/env node
// `npm run docs:config`: writes docs/configuration.md from the zod schema (scripts/config-reference.ts);
// `node scripts/config-docs.js FILE` writes FILE instead.
// The TypeScript sources are loaded through Vite's module runner (Vite comes with vitest), so no build is needed.
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runnerImport } from 'vite';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { module } = await runnerImport(join(root, 'scripts', 'config-reference.ts'), { root, configFile: false, logLevel: 'error' });
const target = process.argv[2] ?? join(root, 'docs', 'configuration.md');
writeFileSync(target, module.configReference());
console.log(`wrote ${target}`);
