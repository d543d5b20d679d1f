/**
 * Tenant branding in the console (docs/console.md "Branding"): a form of the branding settings
 * beside a live preview of the real email page (views/email.eta) rendered with the edited values.
 * The preview is its own route, framed same-origin in a sandboxed iframe (no scripts, no forms);
 * a small script with the page's CSP nonce reloads it as the admin types. Store tenants can be
 * saved (through the tenant directory, as the admin API replaces them); config-file tenants are
 * changed in the file.
 */
import type { Context } from 'koa';
import { z } from 'zod';
import type { AppDeps } from '../http/deps.js';
import type { TenantConfig } from '../config/schema.js';
import { LOCALES } from '../http/i18n.js';
import { checkSecureUrl } from '../config/urls.js';
import { notFound } from '../errors.js';
import { noStore, sendConsolePage, seeOther } from './pages.js';
import { consoleView } from './source.js';
import { auditConsole, field, formProblem } from './common.js';

type Branding = TenantConfig['branding'];

/** The settings the form edits, with the config file's rules (docs/configuration.md, `branding`). */
export const BRANDING_FIELDS = ['primaryColor', 'logoUrl', 'signInText', 'supportEmail', 'supportUrl', 'privacyUrl', 'termsUrl', 'defaultLocale'] as const;
type Field = (typeof BRANDING_FIELDS)[number];

const secure = (v: string) => checkSecureUrl(v) === null && v.length <= 2048;
const RULES: Record<Field, { check: (v: string) => boolean; problem: string; max: number }> = {
  primaryColor: { check: (v) => /^#[0-9a-fA-F]{3}([0-9a-fA-F]{3})?$/.test(v), problem: 'a hex colour like #0067b8', max: 7 },
  logoUrl: { check: secure, problem: 'an https:// address', max: 2048 },
  supportEmail: { check: (v) => z.email().safeParse(v).success, problem: 'an email address', max: 254 },
  supportUrl: { check: secure, problem: 'an https:// address', max: 2048 },
  privacyUrl: { check: secure, problem: 'an https:// address', max: 2048 },
  termsUrl: { check: secure, problem: 'an https:// address', max: 2048 },
  signInText: { check: (v) => v.length <= 500, problem: 'at most 500 characters', max: 500 },
  defaultLocale: { check: (v) => (LOCALES as readonly string[]).includes(v), problem: `one of ${LOCALES.join(', ')}`, max: 5 },
};

interface Edited {
  /** What the form shows (the admin's own input, escaped by the view). */
  values: Record<Field, string>;
  /** The branding with every valid edit applied (empty removes a setting). */
  branding: Branding;
  /** Field → what it must be; invalid edits are left out of `branding`. */
  problems: Partial<Record<Field, string>>;
}

/** Reads edits from a query or form body over the tenant's current branding. */
export function editBranding(input: unknown, current: Branding): Edited {
  const values = {} as Record<Field, string>;
  const branding: Record<string, unknown> = { ...current };
  const problems: Partial<Record<Field, string>> = {};
  for (const f of BRANDING_FIELDS) {
    const given = (input as Record<string, unknown> | undefined)?.[f];
    if (given === undefined) {
      values[f] = (current as Record<string, unknown>)[f] === undefined ? '' : String((current as Record<string, unknown>)[f]);
      continue;
    }
    const v = field(input, f, RULES[f].max);
    if (v === null) {
      values[f] = '';
      problems[f] = RULES[f].problem;
    } else if (v === '') {
      values[f] = '';
      delete branding[f];
    } else if (!RULES[f].check(v)) {
      values[f] = v;
      problems[f] = RULES[f].problem;
    } else {
      values[f] = v;
      branding[f] = v;
    }
  }
  return { values, branding: branding as Branding, problems };
}

function tenantOr404(deps: AppDeps, id: string) {
  const entry = consoleView(deps).tenants.find((e) => e.config.id === id);
  if (!entry) throw notFound('unknown_tenant', 'no such tenant');
  return entry;
}

function previewQuery(values: Record<Field, string>): string {
  return new URLSearchParams(BRANDING_FIELDS.map((f): [string, string] => [f, values[f]])).toString();
}

function show(ctx: Context, deps: AppDeps, id: string, edited: Edited, extra: Record<string, unknown> = {}, status = 200): void {
  const entry = tenantOr404(deps, id);
  sendConsolePage(ctx, 'branding', {
    status,
    nav: 'tenants',
    framesPreview: true,
    data: {
      tenant: { id: entry.config.id, displayName: entry.config.displayName, source: entry.source },
      canSave: entry.source === 'store',
      values: edited.values,
      problems: edited.problems,
      locales: LOCALES,
      previewSrc: `/admin/tenants/${encodeURIComponent(entry.config.id)}/preview?${previewQuery(edited.values)}`,
      previewBase: `/admin/tenants/${encodeURIComponent(entry.config.id)}/preview`,
      saved: ctx.query.saved === '1',
      ...extra,
    },
  });
}

export function brandingPage(ctx: Context, deps: AppDeps): void {
  const entry = tenantOr404(deps, ctx.params.id);
  show(ctx, deps, entry.config.id, editBranding(undefined, entry.config.branding));
}

/** Preview (re-render with the edits, for browsers without script) or save (store tenants). */
export async function brandingPost(ctx: Context, deps: AppDeps): Promise<void> {
  const view = consoleView(deps);
  const entry = tenantOr404(deps, ctx.params.id);
  const edited = editBranding(ctx.request.body, entry.config.branding);
  if (field(ctx.request.body, 'action', 16) !== 'save') return show(ctx, deps, entry.config.id, edited);
  if (Object.keys(edited.problems).length) return show(ctx, deps, entry.config.id, edited, {}, 400);
  const doc = entry.source === 'store' ? view.directory.publicDoc(entry.config.id) : null;
  if (!doc) {
    return show(ctx, deps, entry.config.id, edited, { saveProblem: { code: 'conflict', text: 'a config-file tenant is changed in the configuration file' } }, 409);
  }
  try {
    await view.directory.replace(entry.config.id, { ...doc, branding: { ...(doc.branding as object | undefined), ...stripEmpty(edited) } }, deps.clock.now());
  } catch (err) {
    const problem = formProblem(err);
    return show(ctx, deps, entry.config.id, edited, { saveProblem: problem }, (err as { status: number }).status);
  }
  auditConsole(ctx, deps, 'branding_saved', { tenantId: entry.config.id, detail: { fields: BRANDING_FIELDS.filter((f) => edited.values[f] !== '') } });
  seeOther(ctx, `/admin/tenants/${encodeURIComponent(entry.config.id)}/branding?saved=1`);
}

/** The edited settings as a document part: an emptied field is removed, not kept as "". */
function stripEmpty(edited: Edited): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of BRANDING_FIELDS) out[f] = edited.values[f] === '' ? undefined : (edited.branding as Record<string, unknown>)[f];
  return out;
}

/**
 * The real email page of this tenant with the edited branding. It may be framed by the console
 * itself only (frame-ancestors 'self'), and its form goes nowhere (form-action 'none').
 */
export function brandingPreview(ctx: Context, deps: AppDeps): void {
  const view = consoleView(deps);
  const entry = tenantOr404(deps, ctx.params.id);
  const { branding } = editBranding(ctx.query, entry.config.branding);
  const tenant: TenantConfig = { ...entry.config, branding };
  const page = deps.views.render('email', {
    locale: branding.defaultLocale ?? 'en',
    tenant,
    demo: view.config.demo,
    formAction: "'none'",
    // A logo uploaded through the admin API wins over logoUrl, on the real pages as here (docs/branding.md).
    uploadedLogo: deps.views.logos.get(tenant.id, (id) => deps.store.getLogo(id)),
    data: { state: 'preview', email: '', requestId: ctx.state.requestId },
  });
  noStore(ctx);
  ctx.type = 'text/html; charset=utf-8';
  ctx.set('Content-Security-Policy', page.csp.replace("frame-ancestors 'none'", "frame-ancestors 'self'"));
  ctx.body = page.html;
}
