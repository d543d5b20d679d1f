/**
 * Key resolution for fedbridge/verify: a remote JWKS URL (fetched and cached by jose,
 * one cache per URL for the life of the process), a local key set, or a jose resolver.
 */
import { createLocalJWKSet, createRemoteJWKSet, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';

export type KeySource = string | URL | JSONWebKeySet | JWTVerifyGetKey;

/** Few deployments verify against more than a handful of JWKS URLs; the cap only stops a leak. */
const MAX_REMOTE_SETS = 64;
const remoteSets = new Map<string, JWTVerifyGetKey>();
const localSets = new WeakMap<JSONWebKeySet, JWTVerifyGetKey>();

function remote(url: URL): JWTVerifyGetKey {
  const href = url.href;
  let set = remoteSets.get(href);
  if (!set) {
    if (remoteSets.size >= MAX_REMOTE_SETS) remoteSets.delete(remoteSets.keys().next().value!);
    // Reusing the set keeps jose's cache and cooldown: one fetch per key rotation, not per call.
    set = createRemoteJWKSet(url);
    remoteSets.set(href, set);
  }
  return set;
}

function local(jwks: JSONWebKeySet): JWTVerifyGetKey {
  let set = localSets.get(jwks);
  if (!set) {
    set = createLocalJWKSet(jwks);
    localSets.set(jwks, set);
  }
  return set;
}

export function resolveKeys(source: KeySource): JWTVerifyGetKey {
  if (typeof source === 'function') return source;
  if (typeof source === 'string') return remote(new URL(source));
  if (source instanceof URL) return remote(source);
  if (source && typeof source === 'object' && Array.isArray((source as JSONWebKeySet).keys)) return local(source as JSONWebKeySet);
  throw new TypeError('keys must be a JWKS URL, a JSON Web Key Set or a jose key resolver');
}

/** A Fedbridge issuer publishes its keys at <issuer>/.well-known/jwks.json. */
export function defaultJwksUrl(issuer: string): URL {
  return new URL(`${issuer.replace(/\/+$/, '')}/.well-known/jwks.json`);
}
