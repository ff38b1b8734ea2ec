/**
 * A container instance's log, kept as the CRI runtimes keep it: one record a
 * line, `<RFC3339Nano> <stream> <F|P> <text>`, where P marks a piece of a line
 * that goes on (a long line, or output not ending in a newline). Reading it
 * back yields exactly the bytes the process wrote.
 */
import { EventEmitter } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';

/** Long lines are split into records of at most this many bytes, as containerd does. */
export const MAX_RECORD_BYTES = 16 * 1024;

const epochNs = BigInt(Date.now()) * 1_000_000n;
const hrStart = process.hrtime.bigint();

/** Strictly increasing nanosecond timestamps, so `sinceTime` never repeats a line. */
let lastNs = 0n;
export function nowNs(): bigint {
  let ns = epochNs + (process.hrtime.bigint() - hrStart);
  if (ns <= lastNs) ns = lastNs + 1n;
  lastNs = ns;
  return ns;
}

export function formatNs(ns: bigint): string {
  const ms = Number(ns / 1_000_000n);
  const iso = new Date(ms).toISOString(); // 2026-01-01T00:00:00.123Z
  const nanos = (ns % 1_000_000_000n).toString().padStart(9, '0');
  return `${iso.slice(0, 19)}.${nanos}Z`;
}

/** Parses RFC 3339 with up to nanosecond precision into nanoseconds since the epoch. */
export function parseTimeNs(text: string): bigint | undefined {
  const match = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/.exec(text);
  if (!match) return undefined;
  const seconds = Date.parse(`${match[1]}${match[3]}`);
  if (Number.isNaN(seconds)) return undefined;
  const fraction = BigInt((match[2] ?? '').padEnd(9, '0'));
  return BigInt(seconds) * 1_000_000n + fraction;
}

export type StreamName = 'stdout' | 'stderr';

export class LogFile extends EventEmitter {
  /** Absent for a log read back after a restart: its container no longer runs. */
  private readonly out: WriteStream | undefined;
  private readonly pending: Record<StreamName, Buffer> = { stdout: Buffer.alloc(0), stderr: Buffer.alloc(0) };
  private closedFlag = false;
  /** Bytes written to the file so far (followers read up to here). */
  size = 0;

  /** A new log at `path`, or with `existingSize` the closed log a stopped container left there. */
  constructor(readonly path: string, existingSize?: number) {
    super();
    if (existingSize !== undefined) {
      this.size = existingSize;
      this.closedFlag = true;
      return;
    }
    this.out = createWriteStream(path, { flags: 'a' });
    this.out.on('drain', () => this.emit('drain'));
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  /**
   * Takes raw output of a stream and writes whole-line records; partial lines
   * wait for more. Returns false when the writer should pause until 'drain'.
   */
  write(stream: StreamName, chunk: Buffer): boolean {
    let data = this.pending[stream].length ? Buffer.concat([this.pending[stream], chunk]) : chunk;
    // The chunk's records go to the file in one write (a write per line made the stand-in slower than what it serves).
    const records: Buffer[] = [];
    let newline = data.indexOf(0x0a);
    while (newline !== -1) {
      records.push(this.record(stream, 'F', data.subarray(0, newline)));
      data = data.subarray(newline + 1);
      newline = data.indexOf(0x0a);
    }
    while (data.length > MAX_RECORD_BYTES) {
      records.push(this.record(stream, 'P', data.subarray(0, MAX_RECORD_BYTES)));
      data = data.subarray(MAX_RECORD_BYTES);
    }
    this.pending[stream] = Buffer.from(data);
    this.append(records);
    return !this.out?.writableNeedDrain;
  }

  /** Flushes output that did not end in a newline and closes the file. */
  async close(): Promise<void> {
    if (this.closedFlag) return;
    for (const stream of ['stdout', 'stderr'] as const) {
      if (this.pending[stream].length) this.append([this.record(stream, 'P', this.pending[stream])]);
      this.pending[stream] = Buffer.alloc(0);
    }
    this.closedFlag = true;
    if (!this.out) return;
    this.out.end();
    await once(this.out, 'finish');
    this.emit('append');
  }

  private record(stream: StreamName, tag: 'F' | 'P', content: Buffer): Buffer {
    return Buffer.concat([Buffer.from(`${formatNs(nowNs())} ${stream} ${tag} `), content, Buffer.from('\n')]);
  }

  private append(records: Buffer[]): void {
    if (records.length === 0) return;
    const data = records.length === 1 ? records[0]! : Buffer.concat(records);
    this.out?.write(data, () => {
      this.size += data.length;
      this.emit('append');
    });
  }
}
