/**
 * Parsing a pod log read with `timestamps=true`: every line starts with the
 * RFC 3339 (nanosecond) time the runtime received it, then a space, then the
 * bytes the container wrote, newline included. (The kubelet prefixes only
 * the start of a line, not the later pieces of a line it stored in parts.)
 *
 * The parser hands out the content as it arrives, so a line of any length
 * is never held whole, and reports each line end with its timestamp, which
 * is where a follow can resume (`sinceTime`). Lines stamped at or before a
 * resume point are dropped: `sinceTime` includes the line stamped exactly
 * then, and the API server may round it down (metav1.Time has whole seconds).
 *
 * Because the kubelet always sends the line stamped exactly at the resume
 * point, seeing it again proves that the read continues where the last one
 * stopped. A read that instead starts with a later line, or brings nothing,
 * has a gap: the kubelet rotated or lost the file holding the lines between.
 */

/** Nanoseconds since the epoch of an RFC 3339 time with up to nine fraction digits. */
export function parseRfc3339Nanos(text: string): bigint | undefined {
  const match = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/.exec(text);
  if (!match) return undefined;
  const ms = Date.parse(`${match[1]}${match[3]}`);
  if (Number.isNaN(ms)) return undefined;
  return BigInt(ms) * 1_000_000n + BigInt((match[2] ?? '').padEnd(9, '0'));
}

export type LogPiece =
  /** Bytes of the current line (a view into the pushed chunk: write it before pushing more). */
  | { type: 'content'; data: Buffer }
  /** The current line ended; its newline was the last content byte. */
  | { type: 'line-end'; timestamp: string; nanos: bigint };

export class LogFormatError extends Error {
  override name = 'LogFormatError';
}

const MAX_TIMESTAMP_BYTES = 64;
const SPACE = 0x20;
const NEWLINE = 0x0a;
const DOT = 0x2e;

export class TimestampedLogParser {
  private state: 'timestamp' | 'content' | 'skip' = 'timestamp';
  private prefix = Buffer.alloc(0);
  private timestamp = '';
  private nanos = 0n;
  /** The whole-second part ("YYYY-MM-DDTHH:MM:SS") of the last timestamp fully parsed, and its value (ns). */
  private second = '\u0000';
  private secondNanos = 0n;
  /** The line stamped at the resume point was seen again (or there is no resume point). */
  private anchoredFlag: boolean;
  /** A line after the resume point came before the line at it. */
  private gapFlag = false;

  /** @param resumeAfter lines stamped at or before this (ns) are dropped */
  constructor(private readonly resumeAfter?: bigint) {
    this.anchoredFlag = resumeAfter === undefined;
  }

  /**
   * The read provably continues the previous one: it brought the line stamped
   * at the resume point before anything newer. False (with `gap` false) while
   * nothing has come yet.
   */
  get anchored(): boolean {
    return this.anchoredFlag && !this.gapFlag;
  }

  /** Lines were missing between the resume point and what this read brought. */
  get gap(): boolean {
    return this.gapFlag;
  }

  /** True while in the middle of a line (its start came, its newline did not). */
  get midLine(): boolean {
    return this.state !== 'timestamp' || this.prefix.length > 0;
  }

  push(chunk: Buffer): LogPiece[] {
    const pieces: LogPiece[] = [];
    let at = 0;
    while (at < chunk.length) {
      if (this.state === 'timestamp') {
        const space = chunk.indexOf(SPACE, at);
        const end = space === -1 ? chunk.length : space;
        if (this.prefix.length === 0 && space !== -1 && end - at <= MAX_TIMESTAMP_BYTES) {
          // The usual case, a timestamp whole in this chunk: read it in place (a copy per line would cost more than the line).
          const timestamp = chunk.toString('latin1', at, end);
          if (timestamp.includes('\n')) this.badPrefix(chunk.subarray(at, end));
          this.startLine(timestamp);
          at = space + 1;
          continue;
        }
        this.prefix = Buffer.concat([this.prefix, chunk.subarray(at, end)]);
        if (this.prefix.length > MAX_TIMESTAMP_BYTES || this.prefix.includes(NEWLINE)) this.badPrefix(this.prefix);
        if (space === -1) return pieces;
        this.startLine(this.prefix.toString('latin1'));
        this.prefix = Buffer.alloc(0);
        at = space + 1;
        continue;
      }
      const newline = chunk.indexOf(NEWLINE, at);
      const end = newline === -1 ? chunk.length : newline + 1;
      if (this.state === 'content' && end > at) pieces.push({ type: 'content', data: chunk.subarray(at, end) });
      if (newline === -1) return pieces;
      if (this.state === 'content') pieces.push({ type: 'line-end', timestamp: this.timestamp, nanos: this.nanos });
      this.state = 'timestamp';
      at = end;
    }
    return pieces;
  }

  private badPrefix(prefix: Buffer): never {
    throw new LogFormatError(`log line does not start with a timestamp: ${JSON.stringify(prefix.toString('utf8').slice(0, 80))}`);
  }

  /**
   * parseRfc3339Nanos, with the second's value kept: lines come many per
   * second, and only their fraction differs (a full parse per line cost as
   * much as hashing the line).
   */
  private nanosOf(timestamp: string): bigint | undefined {
    if (timestamp.length > 20 && timestamp.length <= 30 && timestamp.charCodeAt(19) === DOT && timestamp.endsWith('Z') && timestamp.startsWith(this.second)) {
      const fraction = timestamp.slice(20, -1);
      if (/^\d+$/.test(fraction)) return this.secondNanos + BigInt(fraction.padEnd(9, '0'));
    }
    const nanos = parseRfc3339Nanos(timestamp);
    if (nanos !== undefined && timestamp.charCodeAt(19) === DOT && timestamp.endsWith('Z')) {
      this.second = timestamp.slice(0, 19);
      this.secondNanos = nanos - BigInt(timestamp.slice(20, -1).padEnd(9, '0'));
    }
    return nanos;
  }

  private startLine(timestamp: string): void {
    const nanos = this.nanosOf(timestamp);
    if (nanos === undefined) throw new LogFormatError(`log line starts with ${JSON.stringify(timestamp)}, not an RFC 3339 time`);
    this.timestamp = timestamp;
    this.nanos = nanos;
    if (this.resumeAfter === undefined || this.gapFlag || nanos > this.resumeAfter) {
      if (!this.anchoredFlag) this.gapFlag = true;
      this.anchoredFlag = true;
      this.state = 'content';
      return;
    }
    if (nanos === this.resumeAfter) this.anchoredFlag = true;
    this.state = 'skip';
  }
}
