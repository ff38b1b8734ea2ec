/** Reading credentials from a request, and matching static tokens. Pure. */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { StaticToken } from '../../lib/config/auth-settings.js';

/**
 * The token of an `Authorization: Bearer …` header (RFC 6750: scheme case-
 * insensitive, token68 characters). Undefined when there is none; null when
 * the header is there but is not a usable bearer token.
 */
export function bearerToken(header: string | string[] | undefined): string | undefined | null {
  if (header === undefined) return undefined;
  if (Array.isArray(header)) return null;
  const match = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(header);
  if (!match || match[1]!.length > 16_384) return null;
  return match[1]!;
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/**
 * The entry whose token this is. Every entry is compared, each in constant
 * time over equal-length digests, so neither the position of a match nor the
 * length of a guess shows in the time taken.
 */
export function matchStaticToken(tokens: readonly StaticToken[], presented: string): StaticToken | undefined {
  const wanted = digest(presented);
  let found: StaticToken | undefined;
  for (const entry of tokens) {
    if (timingSafeEqual(digest(entry.token), wanted)) found = entry;
  }
  return found;
}

/** Cache key of a credential: its SHA-256, so no cache ever holds a token in clear. */
export function credentialKey(token: string): string {
  return digest(token).toString('base64url');
}
