/** Debian's chromium driven by playwright-core, launched the way this machine allows. */
import { existsSync } from 'node:fs';
import { afterAll, beforeAll } from 'vitest';
import { chromium, type Browser } from 'playwright-core';
import { CHROMIUM_ARGS, DEFAULT_CHROMIUM } from '../../src/cli/simulate/browser-window.js';
import { startService, type TestService } from './service.js';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? DEFAULT_CHROMIUM;

export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`chromium not found at ${CHROMIUM}: apt-get install chromium (.ci/run does), or set CHROMIUM_PATH`);
  }
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
}

/** A demo-mode service and a browser for the whole test file, filled in by beforeAll. */
export function demoServiceAndBrowser(): { svc: TestService; browser: Browser } {
  const env = {} as { svc: TestService; browser: Browser };
  beforeAll(async () => {
    env.svc = await startService();
    env.browser = await launchBrowser();
  });
  afterAll(async () => {
    await env.browser?.close();
    await env.svc?.close();
  });
  return env;
}
