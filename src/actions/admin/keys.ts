/**
 * The signing keys in the admin API (docs/admin-api.md, Keys): list them, rotate them. Rotation
 * is the same as `fedbridge keys rotate` (README, Signing keys): a new key in keys.dir, published
 * at once, signing one JWKS max-age later. Never a private part in an answer.
 */
import { z } from 'zod';
import type { AppDeps } from '../../http/deps.js';
import { keyTiming, rotateKeys } from '../../tokens/keys.js';
import type { AdminOperation } from './api.js';
import { isoTime } from './common.js';

/**
 * KeyRing.list's states, as the API names them: `next` is published and signs later, `active`
 * signs now, `retiring` no longer signs but stays published until its tokens have expired,
 * `retired` is no longer published (its file goes at the next rotation).
 */
const STATES: Record<string, 'next' | 'active' | 'retiring' | 'retired'> = {
  'published, signs later': 'next',
  signing: 'active',
  'retired, still published': 'retiring',
  expired: 'retired',
};

const keyInfo = z.object({
  kid: z.string(),
  alg: z.string(),
  state: z.enum(['next', 'active', 'retiring', 'retired']).describe('next: published, signs later; active: signs now; retiring: published, signs no more; retired: not published'),
  createdAt: isoTime,
  activateAt: isoTime.describe('signs from this time on'),
  retireAt: isoTime.nullable().describe('stops signing at this time; null while current'),
});

const keyList = z.object({ keys: z.array(keyInfo) });

function listKeys(deps: AppDeps): z.infer<typeof keyList> {
  const iso = (ms: number) => new Date(ms).toISOString();
  return {
    keys: deps.keys.list(deps.clock.now()).map((k) => ({
      kid: k.kid,
      alg: k.alg,
      state: STATES[k.state] ?? 'retired',
      createdAt: iso(k.createdAt),
      activateAt: iso(k.activateAt),
      retireAt: k.retireAt === null ? null : iso(k.retireAt),
    })),
  };
}

let rotations: Promise<unknown> = Promise.resolve();

export const keyOperations: AdminOperation[] = [
  {
    operationId: 'listKeys',
    method: 'get',
    path: '/keys',
    summary: 'List the signing keys in keys.dir (public facts only)',
    responses: { 200: { description: 'The keys, oldest first', schema: keyList } },
    handle(ctx, deps) {
      ctx.set('Cache-Control', 'no-store');
      ctx.body = listKeys(deps);
    },
  },
  {
    operationId: 'rotateKeys',
    method: 'post',
    path: '/keys/rotate',
    summary: 'Add a signing key: published at once, signs after the JWKS max-age; the current key retires then',
    responses: {
      200: {
        description: 'Rotated; the new key and the keys now in keys.dir',
        schema: z.object({
          kid: z.string().describe('the new key'),
          activateAt: isoTime.describe('when the new key starts signing'),
          removed: z.array(z.string()).describe('key files deleted because they are no longer published'),
          keys: z.array(keyInfo),
        }),
      },
    },
    async handle(ctx, deps) {
      const cfg = deps.config;
      // One rotation at a time in this process: two at once would each retire the other's key.
      const run = rotations.then(async () => {
        const r = await rotateKeys(cfg.keys.dir, cfg.keys.algorithm, keyTiming(cfg), deps.clock.now());
        // Other instances sharing keys.dir pick the file up by their watch or SIGHUP (docs/operations.md).
        await deps.keys.reload();
        return r;
      });
      rotations = run.catch(() => undefined);
      const r = await run;
      deps.audit.push({ at: deps.clock.now(), type: 'keys.rotated', ip: ctx.ip, requestId: ctx.state.requestId, detail: { kid: r.kid, removed: r.removed } });
      ctx.set('Cache-Control', 'no-store');
      ctx.body = { kid: r.kid, activateAt: new Date(r.activateAt).toISOString(), removed: r.removed, ...listKeys(deps) };
    },
  },
];
