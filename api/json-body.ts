/**
 * Request bodies: JSON only (other media types get 415 from fastify), and
 * the nesting depth is checked on the raw text before JSON.parse, so a
 * 5 000-deep document is a 400 instead of a stack overflow in whatever
 * walks it later. The size is limited before this by fastify's bodyLimit.
 */
import { invalidParameter } from './ogc/exceptions.js';

/** Deeper than any execute request needs (OGC qualified values nest a few levels). */
export const MAX_JSON_DEPTH = 64;

/** The deepest nesting of arrays and objects in a JSON text (strings skipped); stops counting past `limit`. */
export function jsonDepth(text: string, limit = Infinity): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      depth++;
      if (depth > deepest) deepest = depth;
      if (deepest > limit) return deepest;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return deepest;
}

export function parseJsonBody(text: string, maxDepth = MAX_JSON_DEPTH): unknown {
  if (text.trim() === '') return undefined;
  if (jsonDepth(text, maxDepth) > maxDepth) throw invalidParameter(`the request body nests deeper than ${maxDepth} levels`);
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw invalidParameter(`the request body is not valid JSON: ${(error as Error).message}`);
  }
}
