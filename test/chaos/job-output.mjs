/**
 * What a chaos job prints, as a pure function of its spec, its container and
 * its attempt: the chaos run recomputes these bytes to check every archived
 * log. Plain JavaScript, because local-cluster's kubelet runs the job program
 * with bare `node` (no TypeScript loader in a container's environment).
 *
 * An attempt prints a header line, a body of `bytes` pseudo-random printable
 * bytes (AES-128-CTR keystream mapped to an alphabet and newlines, so any
 * slice can be computed without the ones before it; one 20 000-byte line
 * early in big bodies), then, for a successful main container, the result
 * markers and a JSON result. `newline: false` means the last line has no newline.
 * A SIGTERM (dismissal) cuts the body after `written` bytes and appends a
 * trailer line naming that count.
 */
import { createCipheriv, createHash } from 'node:crypto';

const ALPHABET = Buffer.from('abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,:;-_=+*/()[]{}<>#%&@!?');
/** Body offsets of the long line: no newline in this range. */
export const LONG_LINE = { start: 32_768, length: 20_000 };
export const RESULT_MIMETYPE_MARKER = 'PYGEOAPI_K8S_MANAGER_RESULT_MIMETYPE:application/json\n';
export const RESULT_START_MARKER = 'PYGEOAPI_K8S_MANAGER_RESULT_START\n';

function keyOf(spec, role, attempt) {
  return createHash('sha256').update(`${spec.key}\0${role}\0${attempt}`).digest().subarray(0, 16);
}

/** The container's part of the spec: { bytes, newline, result, exitCode }. */
export function plan(spec, role, attempt) {
  const own = role === 'init' ? spec.init : spec.main;
  const fails = role === 'main' && (spec.failAlways || (spec.failFirst && attempt === 1));
  return {
    bytes: own.bytes,
    newline: own.newline,
    result: role === 'main' && spec.result === true && !fails,
    exitCode: fails ? 1 : 0,
  };
}

/** Body bytes [start, end) of an attempt, before the last byte is fixed. */
function rawBody(key, start, end) {
  const out = Buffer.alloc(end - start);
  if (end <= start) return out;
  const block = Math.floor(start / 16);
  const iv = Buffer.alloc(16);
  iv.writeUInt32BE(Math.floor(block / 2 ** 32), 8);
  iv.writeUInt32BE(block % 2 ** 32, 12);
  const cipher = createCipheriv('aes-128-ctr', key, iv);
  const skip = start - block * 16;
  const stream = cipher.update(Buffer.alloc(skip + out.length));
  for (let i = 0; i < out.length; i++) {
    const b = stream[skip + i];
    const offset = start + i;
    const inLongLine = offset >= LONG_LINE.start && offset < LONG_LINE.start + LONG_LINE.length;
    out[i] = b < 3 && !inLongLine ? 0x0a : ALPHABET[b % ALPHABET.length];
  }
  return out;
}

/** Body bytes [start, end) as printed: the last byte is a newline when a result or a newline must follow. */
export function bodySlice(spec, role, attempt, start, end) {
  const p = plan(spec, role, attempt);
  const out = rawBody(keyOf(spec, role, attempt), start, end);
  if (p.bytes > 0 && end === p.bytes && end > start) out[out.length - 1] = p.result || p.newline ? 0x0a : 0x5a; // 'Z'
  return out;
}

export function header(spec, role, attempt, pod) {
  return Buffer.from(`chaos job=${spec.key} container=${role} attempt=${attempt} pod=${pod} bytes=${plan(spec, role, attempt).bytes}\n`);
}

/** The result value (what follows the start marker, without the optional final newline). */
export function resultValue(spec, attempt) {
  return JSON.stringify({ key: spec.key, attempt: String(attempt) });
}

/** Everything after the body of a completed attempt. */
export function footer(spec, role, attempt) {
  const p = plan(spec, role, attempt);
  if (!p.result) return Buffer.alloc(0);
  return Buffer.from(`${RESULT_MIMETYPE_MARKER}${RESULT_START_MARKER}${resultValue(spec, attempt)}${p.newline ? '\n' : ''}`);
}

export function sigtermTrailer(written) {
  return Buffer.from(`\nchaos: SIGTERM after ${written} body bytes\n`);
}

/**
 * The whole output of an attempt as a sequence of chunks (at most `chunkBytes`
 * of body each): completed, or cut by SIGTERM after `termAfter` body bytes.
 */
export function* outputChunks(spec, role, attempt, pod, termAfter, chunkBytes = 1024 * 1024) {
  const p = plan(spec, role, attempt);
  yield header(spec, role, attempt, pod);
  const end = termAfter === undefined ? p.bytes : Math.min(termAfter, p.bytes);
  for (let at = 0; at < end; at += chunkBytes) yield bodySlice(spec, role, attempt, at, Math.min(end, at + chunkBytes));
  yield termAfter === undefined ? footer(spec, role, attempt) : sigtermTrailer(end);
}

/** Length and SHA-256 of an attempt's output. */
export function digestOf(spec, role, attempt, pod, termAfter) {
  const hash = createHash('sha256');
  let bytes = 0;
  for (const chunk of outputChunks(spec, role, attempt, pod, termAfter)) {
    hash.update(chunk);
    bytes += chunk.length;
  }
  return { bytes, sha256: hash.digest('hex') };
}
