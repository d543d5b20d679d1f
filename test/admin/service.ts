/**
 * One running service and an AdminClient on it for a whole test file (docs/admin-api.md): started
 * before the file's tests, closed after them. Read `svc` and `api` inside tests and hooks only.
 */
import { afterAll, beforeAll } from 'vitest';
import { AdminClient } from './openapi-check.js';

export interface AdminService<S> {
  readonly svc: S;
  readonly api: AdminClient;
}

/** Registers the file's beforeAll/afterAll: `start()` a service, open its admin API document. */
export function useAdminService<S extends { url: string; close(): unknown }>(start: () => Promise<S>): AdminService<S> {
  let svc: S | undefined;
  let api: AdminClient | undefined;
  beforeAll(async () => {
    svc = await start();
    api = await AdminClient.open(svc.url);
  }, 60_000);
  afterAll(async () => {
    await svc?.close();
  });
  return {
    get svc() {
      if (!svc) throw new Error('the admin test service is not started yet (read it inside a test)');
      return svc;
    },
    get api() {
      if (!api) throw new Error('the admin client is not open yet (read it inside a test)');
      return api;
    },
  };
}
