/**
 * What a subscriber URL must look like before anything connects to it, and
 * how it appears in logs and Events: pure functions.
 */
import { decideAddress, parseIp, type AllowEntry } from '../../lib/net/address-policy.js';

export interface CallbackPolicy {
  /** Host names, `*.domains` and CIDRs the operator trusts (in-cluster receivers). */
  allow: readonly AllowEntry[];
  /** Refuse plain http. */
  httpsOnly: boolean;
}

export type UrlDecision = { ok: true; url: URL } | { ok: false; problem: string };

/**
 * Scheme, credentials and literal addresses. The URL parser already turns
 * decimal, octal and hex IPv4 forms into dotted quads, so `http://2130706433/`
 * is seen as 127.0.0.1 here. Host names are checked again on every connection.
 */
export function checkSubscriberUrl(raw: string, policy: CallbackPolicy): UrlDecision {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, problem: 'is not an absolute URL' };
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return { ok: false, problem: `uses ${url.protocol.slice(0, -1)}; only http and https are allowed` };
  if (policy.httpsOnly && url.protocol !== 'https:') return { ok: false, problem: 'must use https (this server sends callbacks over https only)' };
  if (url.username || url.password) return { ok: false, problem: 'must not contain credentials (user:password@): they would be stored with the job' };
  if (url.hostname === '') return { ok: false, problem: 'has no host' };
  const literal = parseIp(url.hostname);
  if (literal) {
    const decision = decideAddress(url.hostname, url.hostname.replace(/^\[|\]$/g, ''), policy.allow);
    if (!decision.allowed) return { ok: false, problem: `points at ${decision.reason}` };
  }
  return { ok: true, url };
}

/** Scheme, host, port and path: no credentials, no query, no fragment (they may carry secrets). */
export function redactUrl(raw: string): string {
  try {
    const url = new URL(raw);
    return `${url.protocol}//${url.host}${url.pathname}`;
  } catch {
    return '(not a URL)';
  }
}
