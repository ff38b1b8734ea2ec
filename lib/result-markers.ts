/**
 * Reading a job's result out of its log: a line containing the mimetype
 * marker names the mimetype (text after the marker, trimmed); everything
 * after the line containing the start marker is the value. The scanner is
 * fed chunks, so a log of any size is read once, without holding it whole.
 *
 * Unlike the Python manager, which strips every line and joins them with no
 * separator, the value keeps its bytes (one trailing newline removed): JSON
 * parses the same either way, and text results stay intact.
 */
import { PROGRESS_MARKER, RESULT_MARKERS } from './contract.js';

const NEWLINE = 0x0a;
/** What both markers begin with. */
const MARKER_PREFIX = Buffer.from(commonPrefix(RESULT_MARKERS.mimetype, RESULT_MARKERS.start));

function commonPrefix(a: string, b: string): string {
  let n = 0;
  while (n < a.length && a[n] === b[n]) n++;
  return a.slice(0, n);
}

export interface ResultMarkers {
  mimetype?: string;
  /** Undefined when no start marker was printed. */
  value?: string;
  /** The value grew past the limit and was not kept. */
  tooLarge: boolean;
  /** Size of the value in bytes (also when too large). */
  valueBytes: number;
}

export const DEFAULT_RESULT_LIMIT_BYTES = 16 * 1024 * 1024;

export class ResultMarkerScanner {
  private line = '';
  /** The last chunk ended inside a line (its start is in `line` and the decoder). */
  private midLine = false;
  private mimetype: string | undefined;
  private inValue = false;
  private valueParts: Buffer[] = [];
  private valueBytes = 0;
  private tooLarge = false;
  private readonly decoder = new TextDecoder('utf-8');

  constructor(private readonly limitBytes = DEFAULT_RESULT_LIMIT_BYTES) {}

  feed(chunk: Buffer | string): void {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    if (this.inValue) {
      this.keep(buffer);
      return;
    }
    let start = 0;
    // Where a marker may begin: a line without one is passed over undecoded (a GiB log is mostly such lines).
    let marker = buffer.indexOf(MARKER_PREFIX);
    for (let newline = buffer.indexOf(NEWLINE); newline !== -1; newline = buffer.indexOf(NEWLINE, start)) {
      const wholeHere = start > 0 || !this.midLine;
      if (wholeHere && marker === -1) {
        // No marker in the rest of the chunk: its whole lines are passed over at once.
        start = buffer.lastIndexOf(NEWLINE) + 1;
        break;
      }
      if (wholeHere && marker > newline) {
        start = newline + 1;
        continue;
      }
      this.line += this.decoder.decode(buffer.subarray(start, newline));
      start = newline + 1;
      if (this.endOfLine()) {
        this.keep(buffer.subarray(start));
        return;
      }
      if (marker !== -1 && marker < start) marker = buffer.indexOf(MARKER_PREFIX, start);
    }
    if (buffer.length > 0) this.midLine = start < buffer.length;
    // Only the marker lines matter; cap what is kept of a long line.
    this.line = (this.line + this.decoder.decode(buffer.subarray(start), { stream: true })).slice(-4096);
  }

  result(): ResultMarkers {
    if (!this.inValue && this.line) this.endOfLine();
    let value: string | undefined;
    if (this.inValue && !this.tooLarge) {
      value = Buffer.concat(this.valueParts).toString('utf8');
      if (value.endsWith('\r\n')) value = value.slice(0, -2);
      else if (value.endsWith('\n')) value = value.slice(0, -1);
    }
    return { mimetype: this.mimetype, value, tooLarge: this.tooLarge, valueBytes: this.valueBytes };
  }

  /** Handles a complete line; true when it was the start marker. */
  private endOfLine(): boolean {
    const line = this.line;
    this.line = '';
    const at = line.indexOf(RESULT_MARKERS.mimetype);
    if (at >= 0 && this.mimetype === undefined) {
      const mimetype = line.slice(at + RESULT_MARKERS.mimetype.length).trim();
      if (mimetype) this.mimetype = mimetype;
    }
    if (line.includes(RESULT_MARKERS.start)) {
      this.inValue = true;
      return true;
    }
    return false;
  }

  private keep(buffer: Buffer): void {
    if (!buffer.length) return;
    this.valueBytes += buffer.length;
    if (this.tooLarge) return;
    if (this.valueBytes > this.limitBytes) {
      this.tooLarge = true;
      this.valueParts = [];
      return;
    }
    this.valueParts.push(Buffer.from(buffer));
  }
}

/** The markers of a whole log text. */
export function parseResultMarkers(log: string, limitBytes?: number): ResultMarkers {
  const scanner = new ResultMarkerScanner(limitBytes);
  scanner.feed(log);
  return scanner.result();
}

export interface ProgressReport {
  /** Whole percent, 0-100. */
  progress: number;
  message?: string;
}

const MAX_PROGRESS_MESSAGE = 200;

/**
 * The progress a log line reports, or undefined when it carries no valid
 * marker. The percent is rounded and clamped to 0-100; the message is
 * trimmed, stripped of control characters and cut to 200 characters (it
 * ends up in status documents and pages).
 */
export function parseProgressLine(line: string): ProgressReport | undefined {
  const at = line.indexOf(PROGRESS_MARKER);
  if (at < 0) return undefined;
  const match = /^\s*(-?\d+(?:\.\d+)?)(?:\s+(.*))?$/.exec(line.slice(at + PROGRESS_MARKER.length));
  if (!match) return undefined;
  const progress = Math.min(100, Math.max(0, Math.round(Number(match[1]))));
  // eslint-disable-next-line no-control-regex
  const message = (match[2] ?? '').replace(/[\u0000-\u001f\u007f]/g, ' ').trim().slice(0, MAX_PROGRESS_MESSAGE);
  return { progress, ...(message ? { message } : {}) };
}

/**
 * Follows a log chunk by chunk and keeps the latest progress report. Lines
 * after the result start marker are the result value, not progress.
 * Memory: one partial line, capped at 4 KiB.
 */
export class ProgressScanner {
  private line = '';
  private done = false;
  private current: ProgressReport | undefined;
  private readonly decoder = new TextDecoder('utf-8');

  /** Feeds a chunk; true when the latest report changed. */
  feed(chunk: Buffer | string): boolean {
    if (this.done) return false;
    const text = typeof chunk === 'string' ? chunk : this.decoder.decode(chunk, { stream: true });
    const lines = (this.line + text).split('\n');
    this.line = lines.pop()!.slice(-4096);
    let changed = false;
    for (const line of lines) {
      if (line.includes(RESULT_MARKERS.start)) {
        this.done = true;
        this.line = '';
        return changed;
      }
      const report = parseProgressLine(line);
      if (report && (report.progress !== this.current?.progress || report.message !== this.current?.message)) {
        this.current = report;
        changed = true;
      }
    }
    return changed;
  }

  latest(): ProgressReport | undefined {
    return this.current;
  }
}
