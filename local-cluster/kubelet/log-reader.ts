/**
 * Reading a container log back as the kubelet serves it: the bytes the
 * process wrote, optionally with timestamps, from a time on, the last N
 * lines, at most N bytes, and following the file while the container runs.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { formatNs, MAX_RECORD_BYTES, type LogFile } from './log-file.js';

const NEWLINE = Buffer.from('\n');

export interface LogReadOptions {
  follow: boolean;
  timestamps: boolean;
  sinceNs?: bigint;
  tailLines?: number;
  limitBytes?: number;
}

interface LogRecord {
  timestamp: string;
  full: boolean;
  content: Buffer;
}

function parseRecord(line: Buffer): LogRecord | undefined {
  const first = line.indexOf(0x20);
  const second = line.indexOf(0x20, first + 1);
  const third = line.indexOf(0x20, second + 1);
  if (first < 0 || second < 0 || third < 0) return undefined;
  return {
    timestamp: line.subarray(0, first).toString(),
    full: line.subarray(second + 1, third).toString() === 'F',
    content: line.subarray(third + 1),
  };
}

function nextAppend(file: LogFile, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      file.off('append', done);
      signal.removeEventListener('abort', done);
      resolve();
    };
    file.on('append', done);
    signal.addEventListener('abort', done);
  });
}

/** Whether the record starting at `at` is stamped before `stamp` (both formatNs's fixed width, so bytes compare as times). */
function stampedBefore(data: Buffer, at: number, stamp: Buffer): boolean {
  return data.compare(stamp, 0, stamp.length, at, Math.min(at + stamp.length, data.length)) < 0;
}

/**
 * Records of the file in order, a batch per read (valid until the next); with `follow`, waits for more until the file is closed.
 * Records stamped before `since` (formatNs's form) are skipped, their stamps compared as bytes (parsing every record's
 * time made a `sinceTime` read crawl); sinceStart leaves at most a chunk of them.
 */
async function* records(file: LogFile, follow: boolean, signal: AbortSignal, from = 0, since?: Buffer): AsyncGenerator<LogRecord[]> {
  const handle = await open(file.path, 'r');
  try {
    let position = from;
    let carry = Buffer.alloc(0);
    const chunk = Buffer.alloc(64 * 1024);
    // Until a record at or after `since` is met; every one after it is then too.
    let before = since;
    for (;;) {
      if (signal.aborted) return;
      const available = file.size - position;
      if (available <= 0) {
        if (!follow || file.closed) return;
        await nextAppend(file, signal);
        continue;
      }
      const { bytesRead } = await handle.read(chunk, 0, Math.min(chunk.length, available), position);
      if (bytesRead === 0) return;
      position += bytesRead;
      const data = carry.length ? Buffer.concat([carry, chunk.subarray(0, bytesRead)]) : chunk.subarray(0, bytesRead);
      // The chunk's records as one batch (a generator step per line cost more than the line).
      const batch: LogRecord[] = [];
      let start = 0;
      for (let newline = data.indexOf(0x0a); newline !== -1; newline = data.indexOf(0x0a, start)) {
        if (before && stampedBefore(data, start, before)) {
          start = newline + 1;
          continue;
        }
        before = undefined;
        const record = parseRecord(data.subarray(start, newline));
        if (record) batch.push(record);
        start = newline + 1;
      }
      if (batch.length) yield batch;
      carry = Buffer.from(data.subarray(start));
    }
  } finally {
    await handle.close();
  }
}

/** Whether the record starting at `start` is the last piece of its line (tag F). */
async function isFullRecord(handle: FileHandle, start: number): Promise<boolean> {
  const head = Buffer.alloc(128);
  const { bytesRead } = await handle.read(head, 0, head.length, start);
  // Its timestamp, stream and tag fit in the head; the content need not.
  return parseRecord(head.subarray(0, bytesRead))?.full ?? false;
}

/**
 * Where the last `lines` lines of the file begin, found from its end
 * backwards, as the kubelet does (tail.FindTailLineStartIndex): a tail read
 * costs what it returns, not the size of the log.
 */
async function tailStart(file: LogFile, lines: number): Promise<number> {
  const handle = await open(file.path, 'r');
  try {
    const block = Buffer.alloc(64 * 1024);
    let position = file.size;
    // The start of the record after the one being looked at (the file's end at first).
    let after = file.size;
    let full = 0;
    // The file's last byte ends the last record: it starts no record.
    let skipNewline = file.size - 1;
    while (position > 0) {
      const length = Math.min(block.length, position);
      position -= length;
      const { bytesRead } = await handle.read(block, 0, length, position);
      for (let i = bytesRead - 1; i >= 0; i--) {
        if (block[i] !== 0x0a || position + i === skipNewline) continue;
        const start = position + i + 1;
        if (await isFullRecord(handle, start)) full++;
        if (full > lines) return after;
        after = start;
      }
    }
    if (file.size > 0 && (await isFullRecord(handle, 0))) full++;
    return full > lines ? after : 0;
  } finally {
    await handle.close();
  }
}

/** The longest record: its content and its prefix (stamp, stream, tag). */
const MAX_RECORD_LENGTH = MAX_RECORD_BYTES + 64;

/**
 * A record start at or before the first record stamped at or after `since`
 * (from `from`, a record start), found by bisecting the file: its stamps only
 * grow. The reads after it skip the rest record by record. A scan from the
 * start read the whole file through the thread pool, and with many logs being
 * written and followed at once each of its reads waited its turn: resuming a
 * 32 MB log took tens of seconds in the chaos run.
 */
async function sinceStart(file: LogFile, since: Buffer, from: number): Promise<number> {
  const handle = await open(file.path, 'r');
  try {
    const block = Buffer.alloc(MAX_RECORD_LENGTH);
    let lo = from;
    let hi = file.size;
    while (hi - lo > 64 * 1024) {
      const mid = lo + Math.floor((hi - lo) / 2);
      const { bytesRead } = await handle.read(block, 0, Math.min(block.length, hi - mid), mid);
      const newline = block.subarray(0, bytesRead).indexOf(0x0a);
      // The record after the one holding `mid`, if it starts before `hi` with its stamp in the block.
      const start = newline === -1 ? -1 : newline + 1;
      if (start === -1 || bytesRead - start < since.length) {
        hi = mid;
        continue;
      }
      if (stampedBefore(block, start, since)) lo = mid + start;
      else hi = mid + start;
    }
    return lo;
  } finally {
    await handle.close();
  }
}

export function readLog(file: LogFile, options: LogReadOptions): Readable {
  const controller = new AbortController();
  async function* produce(): AsyncGenerator<Buffer> {
    const since = options.sinceNs !== undefined ? Buffer.from(formatNs(options.sinceNs)) : undefined;
    const tail = options.tailLines !== undefined ? await tailStart(file, options.tailLines) : 0;
    const from = since ? await sinceStart(file, since, tail) : tail;
    let remaining = options.limitBytes ?? Number.POSITIVE_INFINITY;
    // Only the start of a line gets a timestamp; the pieces of a long line continue it, as the kubelet writes them.
    let atLineStart = true;
    for await (const batch of records(file, options.follow, controller.signal, from, since)) {
      const out: Buffer[] = [];
      let size = 0;
      for (const r of batch) {
        if (options.timestamps && atLineStart) out.push(Buffer.from(`${r.timestamp} `));
        out.push(r.content);
        if (r.full) out.push(NEWLINE);
        atLineStart = r.full;
      }
      for (const piece of out) size += piece.length;
      if (size === 0) continue;
      // One buffer a batch, copied (the records point into the reader's chunk), cut at limitBytes.
      const joined = Buffer.concat(out, Math.min(size, remaining));
      remaining -= joined.length;
      yield joined;
      if (remaining <= 0) return;
    }
  }
  const stream = Readable.from(produce(), { objectMode: false });
  stream.on('close', () => controller.abort());
  return stream;
}
