/**
 * Reading a container log back as the kubelet serves it: the bytes the
 * process wrote, optionally with timestamps, from a time on, the last N
 * lines, at most N bytes, and following the file while the container runs.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { parseTimeNs, type LogFile } from './log-file.js';

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

/** Records of the file in order; with `follow`, waits for more until the file is closed. */
async function* records(file: LogFile, follow: boolean, signal: AbortSignal, from = 0): AsyncGenerator<LogRecord> {
  const handle = await open(file.path, 'r');
  try {
    let position = from;
    let carry = Buffer.alloc(0);
    const chunk = Buffer.alloc(64 * 1024);
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
      let data = Buffer.concat([carry, chunk.subarray(0, bytesRead)]);
      let newline = data.indexOf(0x0a);
      while (newline !== -1) {
        const record = parseRecord(data.subarray(0, newline));
        if (record) yield record;
        data = data.subarray(newline + 1);
        newline = data.indexOf(0x0a);
      }
      carry = Buffer.from(data);
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

export function readLog(file: LogFile, options: LogReadOptions): Readable {
  const controller = new AbortController();
  async function* produce(): AsyncGenerator<Buffer> {
    const from = options.tailLines !== undefined ? await tailStart(file, options.tailLines) : 0;
    let remaining = options.limitBytes ?? Number.POSITIVE_INFINITY;
    // Only the start of a line gets a timestamp; the pieces of a long line continue it, as the kubelet writes them.
    let atLineStart = true;
    for await (const r of records(file, options.follow, controller.signal, from)) {
      if (options.sinceNs !== undefined && (parseTimeNs(r.timestamp) ?? 0n) < options.sinceNs) continue;
      const parts = [options.timestamps && atLineStart ? Buffer.from(`${r.timestamp} `) : undefined, r.content, r.full ? Buffer.from('\n') : undefined];
      atLineStart = r.full;
      let out = Buffer.concat(parts.filter((p): p is Buffer => p !== undefined));
      if (out.length > remaining) out = out.subarray(0, remaining);
      remaining -= out.length;
      if (out.length) yield out;
      if (remaining <= 0) return;
    }
  }
  const stream = Readable.from(produce(), { objectMode: false });
  stream.on('close', () => controller.abort());
  return stream;
}
