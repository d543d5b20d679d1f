/** What both auth windows (--http, --browser) share: inputs, the result, and page rules. */

export interface WindowInput {
  /** AuthenticationServiceUrl?appru=…&login_hint=… */
  url: string;
  appru: string;
  user: string;
  password?: string;
  timeoutMs: number;
}

export interface Captured {
  /** Where the token was posted (the form action / the intercepted request). */
  action: string;
  wresult: string;
  /** The page kinds walked through, e.g. ["email", "password", "wresult"]. */
  pages: string[];
}

/** The auth window opens AuthenticationServiceUrl with appru and login_hint added, as Windows does. */
export function windowUrl(authenticationServiceUrl: string, appru: string, user: string): string {
  const u = new URL(authenticationServiceUrl);
  u.searchParams.set('appru', appru);
  u.searchParams.set('login_hint', user);
  return u.href;
}

/** Field names an identifier (email / user name) box goes by, here and at common IdPs. */
export const IDENTIFIER_NAME = /^(?:email|username|user|login|loginfmt|upn|identifier)$/i;

/** Most pages a sign-in may take before the simulator gives up (loops, endless redirects). */
export const MAX_PAGES = 20;
