/**
 * An archive object as a sequence of parts, spool files and literal text,
 * streamed one after another (or a byte range of them) without holding any
 * of it in memory: the Python layout's single file with headers, and a
 * result value cut out of the logs.
 */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { Readable } from 'node:stream';
import type { PartBody } from '../lib/s3/part-body.js';
import type { StreamedLog } from './streamed-log.js';

export type LogPart = { file: string; bytes: number } | { text: Buffer };

/** A captured container log, as the archive sees it. */
export interface CapturedLog {
  container: string;
  init: boolean;
  /** The instance before the last one of a restarted container. */
  previous: boolean;
  file: string;
  bytes: number;
  /** Its upload while it ran (the last instance of a container, per-container layout), to be completed. */
  streamed?: StreamedLog;
  /** False when the capture could not prove it read the whole log (`incompleteReason` says why). */
  complete: boolean;
  incompleteReason?: string;
}

export function partBytes(part: LogPart): number {
  return 'text' in part ? part.text.length : part.bytes;
}

export function totalBytes(parts: LogPart[]): number {
  return parts.reduce((sum, p) => sum + partBytes(p), 0);
}

/**
 * The Python manager's log file: `Logs of pod '<pod>'`, then for each init
 * container `\nInit Container '<name>'\n<log>` and for each container
 * `\nContainer '<name>'\n<log>`. A restarted container's previous instance
 * comes first, marked as such (the Python manager did not archive it).
 */
export function pythonLogParts(podName: string, logs: CapturedLog[]): LogPart[] {
  const parts: LogPart[] = [{ text: Buffer.from(`Logs of pod '${podName}'`) }];
  for (const log of logs) {
    const header = `\n${log.init ? 'Init Container' : 'Container'} '${log.container}'${log.previous ? ' (previous instance)' : ''}\n`;
    parts.push({ text: Buffer.from(header) }, { file: log.file, bytes: log.bytes });
  }
  return parts;
}

/** Streams the parts' bytes in [start, end) (default: all). */
export function partsStream(parts: LogPart[], start = 0, end = totalBytes(parts)): Readable {
  async function* bytes(): AsyncGenerator<Buffer> {
    let offset = 0;
    for (const part of parts) {
      const size = partBytes(part);
      const from = Math.max(start - offset, 0);
      const to = Math.min(end - offset, size);
      offset += size;
      if (to <= from) continue;
      if ('text' in part) yield part.text.subarray(from, to);
      else yield* createReadStream(part.file, { start: from, end: to - 1, highWaterMark: 64 * 1024 }) as AsyncIterable<Buffer>;
    }
  }
  return Readable.from(bytes(), { objectMode: false });
}

/**
 * The parts' bytes in [start, end) (default: all) in order, each chunk a
 * view into one buffer of `chunkBytes` reused for the next (for a reader that
 * keeps nothing of a chunk, such as a scan or a hash: a stream's fresh buffer
 * per chunk left a GiB log's worth of garbage behind the archive, its peak of
 * memory). A file that ends before its part does is an error.
 */
export async function* partsChunks(parts: LogPart[], chunkBytes = 256 * 1024, start = 0, end = totalBytes(parts)): AsyncGenerator<Buffer> {
  let buffer: Buffer | undefined;
  let offset = 0;
  for (const part of parts) {
    const size = partBytes(part);
    const from = Math.max(start - offset, 0);
    const to = Math.min(end - offset, size);
    offset += size;
    if (to <= from) continue;
    if ('text' in part) {
      yield part.text.subarray(from, to);
      continue;
    }
    buffer ??= Buffer.allocUnsafe(Math.min(chunkBytes, end - start));
    const handle = await open(part.file, 'r');
    try {
      for (let at = from; at < to; ) {
        const { bytesRead } = await handle.read(buffer, 0, Math.min(buffer.length, to - at), at);
        if (bytesRead === 0) throw new Error(`${part.file}: ends at ${at}, before ${to}`);
        at += bytesRead;
        yield buffer.subarray(0, bytesRead);
      }
    } finally {
      await handle.close();
    }
  }
}

/** The parts' bytes in [start, start + length) as one upload part (or object), read from the files whenever needed. */
export function partsBody(parts: LogPart[], start: number, length: number): PartBody {
  return {
    length,
    stream: () => partsStream(parts, start, start + length),
    chunks: () => partsChunks(parts, undefined, start, start + length),
  };
}
