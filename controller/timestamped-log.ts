/**
 * Parsing a pod log read with `timestamps=true`: every line starts with the
 * RFC 3339 (nanosecond) time the runtime received it, then a space, then the
 * bytes the container wrote, newline included. (The kubelet prefixes only
 * the start of a line, not the later pieces of a line it stored in parts.)
 *
 * The parser hands out the content as it arrives, a chunk's worth at a
 * time, so a line of any length is never held whole, and reports the
 * chunk's last line end with its timestamp, which is where a follow can
 * resume (`sinceTime`). Lines stamped at or before a
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

/** The content of one pushed chunk, timestamps stripped and lines at or before the resume point dropped. */
export interface ParsedChunk {
  /** The kept bytes, in one buffer the parser reuses: write it before pushing more. */
  content: Buffer;
  /** The last line that ended in the chunk: where it ends in `content` (after its newline), its timestamp and time (ns). */
  lastLine: { end: number; timestamp: string; nanos: bigint } | undefined;
}

export class LogFormatError extends Error {
  override name = 'LogFormatError';
}

const MAX_TIMESTAMP_BYTES = 64;
const SPACE = 0x20;
const NEWLINE = 0x0a;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;
const Z = 0x5a;
/** Length of "YYYY-MM-DDTHH:MM:SS". */
const SECOND_CHARS = 19;
const SCALE = [1e9, 1e8, 1e7, 1e6, 1e5, 1e4, 1e3, 1e2, 10, 1];

export class TimestampedLogParser {
  private state: 'timestamp' | 'content' | 'skip' = 'timestamp';
  /** A timestamp cut by the chunk's end (rare: at most once a chunk). */
  private prefix = Buffer.alloc(0);
  /**
   * The current line's timestamp: as text when it was read as text, else as
   * where it lies in the chunk being pushed (made text only for the chunk's
   * last line end: a string per line would cost more than the line).
   */
  private timestamp: string | undefined;
  private timestampAt = 0;
  private timestampEnd = 0;
  /** The current line's time: exact, or (fast path) `second` + `fraction` ns, made a bigint only when needed. */
  private nanos: bigint | undefined;
  private fraction = 0;
  /** The whole-second part ("YYYY-MM-DDTHH:MM:SS") of the last timestamp parsed as text, as bytes, and its value (ns). */
  private second = Buffer.alloc(0);
  private secondNanos = 0n;
  /** Reused for every chunk's content; bound: the largest chunk pushed. */
  private out = Buffer.alloc(0);
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

  /**
   * Strips the chunk's timestamps into one buffer (a copy per line, no
   * object per line), checking each, and reports only the chunk's last line
   * end: the spool takes a chunk with one write and commits up to there.
   */
  push(chunk: Buffer): ParsedChunk {
    if (this.out.length < chunk.length) this.out = Buffer.allocUnsafe(chunk.length);
    const out = this.out;
    let kept = 0;
    // The last line end so far, as its line's fields stood then (made a string and a bigint once, at the end).
    let lastEnd = -1;
    let lastText: string | undefined;
    let lastAt = 0;
    let lastTextEnd = 0;
    let lastNanos: bigint | undefined;
    let lastSecondNanos = 0n;
    let lastFraction = 0;
    let at = 0;
    while (at < chunk.length) {
      if (this.state === 'timestamp') {
        const space = chunk.indexOf(SPACE, at);
        const end = space === -1 ? chunk.length : space;
        if (this.prefix.length === 0 && space !== -1 && end - at <= MAX_TIMESTAMP_BYTES) {
          // The usual case, a timestamp whole in this chunk: read it in place, as bytes when its second is the last one's.
          const fraction = this.fractionInSecond(chunk, at, end);
          if (fraction >= 0) {
            this.timestamp = undefined;
            this.timestampAt = at;
            this.timestampEnd = end;
            this.nanos = undefined;
            this.fraction = fraction;
          } else {
            const timestamp = chunk.toString('latin1', at, end);
            if (timestamp.includes('\n')) this.badPrefix(chunk.subarray(at, end));
            this.readTimestamp(timestamp);
          }
          this.startLine();
          at = space + 1;
          continue;
        }
        this.prefix = Buffer.concat([this.prefix, chunk.subarray(at, end)]);
        if (this.prefix.length > MAX_TIMESTAMP_BYTES || this.prefix.includes(NEWLINE)) this.badPrefix(this.prefix);
        if (space === -1) break;
        this.readTimestamp(this.prefix.toString('latin1'));
        this.prefix = Buffer.alloc(0);
        this.startLine();
        at = space + 1;
        continue;
      }
      const newline = chunk.indexOf(NEWLINE, at);
      const end = newline === -1 ? chunk.length : newline + 1;
      if (this.state === 'content' && end > at) kept += chunk.copy(out, kept, at, end);
      if (newline === -1) break;
      if (this.state === 'content') {
        lastEnd = kept;
        lastText = this.timestamp;
        lastAt = this.timestampAt;
        lastTextEnd = this.timestampEnd;
        lastNanos = this.nanos;
        lastSecondNanos = this.secondNanos;
        lastFraction = this.fraction;
      }
      this.state = 'timestamp';
      at = end;
    }
    // A line going on into the next chunk: its timestamp's bytes are in this one only.
    if (this.state !== 'timestamp' && this.timestamp === undefined) this.timestamp = chunk.toString('latin1', this.timestampAt, this.timestampEnd);
    const content = out.subarray(0, kept);
    if (lastEnd < 0) return { content, lastLine: undefined };
    return {
      content,
      lastLine: {
        end: lastEnd,
        timestamp: lastText ?? chunk.toString('latin1', lastAt, lastTextEnd),
        nanos: lastNanos ?? lastSecondNanos + BigInt(lastFraction),
      },
    };
  }

  private badPrefix(prefix: Buffer): never {
    throw new LogFormatError(`log line does not start with a timestamp: ${JSON.stringify(prefix.toString('utf8').slice(0, 80))}`);
  }

  /**
   * The fraction (ns) of a timestamp "<second>.<1-9 digits>Z" whose second is
   * the last one read as text; -1 for any other: lines come many per second,
   * and only their fraction differs (a full parse per line cost as much as
   * hashing the line).
   */
  private fractionInSecond(chunk: Buffer, at: number, end: number): number {
    const length = end - at;
    const second = this.second;
    if (length < SECOND_CHARS + 3 || length > SECOND_CHARS + 11 || second.length !== SECOND_CHARS || chunk[at + SECOND_CHARS] !== DOT || chunk[end - 1] !== Z) return -1;
    for (let i = 0; i < SECOND_CHARS; i++) if (chunk[at + i] !== second[i]) return -1;
    let value = 0;
    for (let i = at + SECOND_CHARS + 1; i < end - 1; i++) {
      const digit = chunk[i]!;
      if (digit < ZERO || digit > NINE) return -1;
      value = value * 10 + digit - ZERO;
    }
    return value * SCALE[length - SECOND_CHARS - 2]!;
  }

  /** The current line's timestamp, read as text (and its second kept for the lines after it). */
  private readTimestamp(timestamp: string): void {
    const nanos = parseRfc3339Nanos(timestamp);
    if (nanos === undefined) throw new LogFormatError(`log line starts with ${JSON.stringify(timestamp)}, not an RFC 3339 time`);
    if (timestamp.charCodeAt(SECOND_CHARS) === DOT && timestamp.endsWith('Z')) {
      this.second = Buffer.from(timestamp.slice(0, SECOND_CHARS), 'latin1');
      this.secondNanos = nanos - BigInt(timestamp.slice(SECOND_CHARS + 1, -1).padEnd(9, '0'));
    }
    this.timestamp = timestamp;
    this.nanos = nanos;
  }

  /** The current line's time (ns). */
  private lineNanos(): bigint {
    return (this.nanos ??= this.secondNanos + BigInt(this.fraction));
  }

  private startLine(): void {
    const resumeAfter = this.resumeAfter;
    // A line in a later second than the resume point is after it: no bigint of its own needed.
    const after = resumeAfter === undefined || this.gapFlag || (this.nanos === undefined && this.secondNanos > resumeAfter) || this.lineNanos() > resumeAfter;
    if (after) {
      if (!this.anchoredFlag) this.gapFlag = true;
      this.anchoredFlag = true;
      this.state = 'content';
      return;
    }
    if (this.lineNanos() === resumeAfter) this.anchoredFlag = true;
    this.state = 'skip';
  }
}
