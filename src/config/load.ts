/**
 * loadConfig: read the file (YAML or JSON), substitute ${ENV} secrets, validate once,
 * and report every problem at once with its path. No file means demo mode.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { configSchema, type ConfigFile } from './schema.js';
import { demoConfigFile, DEMO_BANNER } from './demo.js';
import { checkCrossRules, checkWarnings, findPlaceholders, formatPath, inlineSecretWarnings, partialConfig } from './rules.js';
import { isLoopbackHost } from './urls.js';

export interface Config extends Omit<ConfigFile, 'server'> {
  server: { publicUrl: string; port: number; host: string; trustProxy: boolean };
  /** Demo mode: no config file, embedded defaults. */
  demo: boolean;
  /** The file it came from, or null in demo mode. */
  source: string | null;
  /** What a valid configuration allows but an operator should know (`config check` prints them, start-up logs them). */
  warnings: string[];
}

export class ConfigError extends Error {
  readonly problems: string[];
  constructor(problems: string[], source: string | null) {
    super(`invalid configuration${source ? ` in ${source}` : ''}:\n` + problems.map((p) => `  - ${p}`).join('\n'));
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

export interface LoadOptions {
  /** Upstream kinds this build implements; others are refused at start-up, not mid-request. */
  kinds?: readonly string[];
}

/** Replaces ${NAME} in every string; a missing variable is a problem at that path. */
export function substituteEnv(value: unknown, env: NodeJS.ProcessEnv, path: PropertyKey[], problems: string[]): unknown {
  if (typeof value === 'string') {
    return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_m, name: string) => {
      const v = env[name];
      if (v === undefined) {
        problems.push(`${formatPath(path)}: environment variable ${name} is not set`);
        return '';
      }
      return v;
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => substituteEnv(v, env, [...path, i], problems));
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, substituteEnv(v, env, [...path, k], problems)]),
    );
  }
  return value;
}

const LOG_LEVELS: readonly string[] = configSchema.shape.log.unwrap().shape.level.unwrap().options;

/** Was server.publicUrl written in the file (even if invalid, and so already reported)? */
function publicUrlGiven(raw: unknown): boolean {
  const server = typeof raw === 'object' && raw !== null ? (raw as Record<string, unknown>).server : undefined;
  return typeof server === 'object' && server !== null && (server as Record<string, unknown>).publicUrl !== undefined;
}

/** One line per problem, each with its path; an unknown key is named in the path. */
function describeIssue(issue: z.core.$ZodIssue): string[] {
  const at = formatPath(issue.path);
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((k) => `${formatPath([...issue.path, k])}: unknown key`);
  }
  // An unknown `idp.kind` is said once, with the list of kinds, by the cross-key rules.
  if (issue.code === 'invalid_union' && issue.path.at(-1) === 'kind' && issue.path.at(-2) === 'idp') return [];
  return [`${at || '(root)'}: ${issue.message}`];
}

function readFile(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError([`cannot read ${file}: ${(err as Error).message}`], file);
  }
  try {
    return file.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new ConfigError([`cannot parse ${file}: ${(err as Error).message}`], file);
  }
}

export { formatPath };

export function loadConfig(file: string | undefined, env: NodeJS.ProcessEnv, opts: LoadOptions = {}): Config {
  const demo = !file;
  const problems: string[] = [];
  const written = demo ? undefined : readFile(file);
  // An empty file (or one of comments only) would start a service nobody can sign in to.
  if (!demo && (written === null || written === undefined)) {
    throw new ConfigError([`(root): ${file} is empty; write the configuration (docs/configuration.md), or give no file for demo mode`], file);
  }
  const raw = demo ? demoConfigFile(env) : substituteEnv(written, env, [], problems);

  // Values left from an example are said once, as placeholders, not again as whatever they break.
  const placeholders = demo ? [] : findPlaceholders(raw);
  for (const p of placeholders) problems.push(`${p.path}: ${p.message}`);
  const placeholderAt = new Set(placeholders.map((p) => p.path));

  const parsed = configSchema.safeParse(raw ?? {});
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      if (!placeholderAt.has(formatPath(issue.path))) problems.push(...describeIssue(issue));
    }
  }
  // When the schema fails, the parts that did validate still go through the rules below,
  // so that one run lists every problem.
  const view = parsed.success ? parsed.data : partialConfig(raw);

  const host = view.server.host ?? env.HOST ?? '127.0.0.1';
  const port = view.server.port ?? (env.PORT ? Number(env.PORT) : 8080);
  if (!Number.isInteger(port) || port < 0 || port > 65535) problems.push(`PORT: ${env.PORT} is not a port number`);
  if (demo && !isLoopbackHost(host)) {
    problems.push(`HOST: demo mode only listens on a loopback address (got ${host}); write a config file to serve elsewhere`);
  }
  let publicUrl = view.server.publicUrl;
  if (!publicUrl) {
    if (isLoopbackHost(host)) publicUrl = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
    else if (!publicUrlGiven(raw)) problems.push('server.publicUrl: required when server.host is not a loopback address');
  }
  const envLevel = env.FEDBRIDGE_LOG_LEVEL || undefined;
  if (envLevel !== undefined && !LOG_LEVELS.includes(envLevel)) {
    problems.push(`FEDBRIDGE_LOG_LEVEL: must be one of ${LOG_LEVELS.join(', ')} (got ${envLevel})`);
  }

  problems.push(...checkCrossRules(view, opts.kinds, demo));
  if (problems.length || !parsed.success) throw new ConfigError(problems, file ?? null);
  const cfg = parsed.data;
  if (cfg.log.level === 'info' && envLevel) cfg.log.level = envLevel as typeof cfg.log.level;

  return {
    ...cfg,
    server: { publicUrl: publicUrl!, port, host, trustProxy: cfg.server.trustProxy },
    demo,
    source: file ?? null,
    warnings: [
      ...(demo || cfg.tenants.length ? [] : ['tenants: none configured; nobody can sign in until a tenant is added']),
      ...checkWarnings(cfg),
      ...(demo ? [] : inlineSecretWarnings(written)),
    ],
  };
}

export { DEMO_BANNER };
