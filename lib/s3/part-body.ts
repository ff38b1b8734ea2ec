/**
 * The bytes of one upload part, kept where they can be read again (a range of
 * a spool file) instead of in memory: hashed from there, and sent from there
 * as a fresh stream for every attempt. A part of 8 MiB in flight costs a
 * stream's buffer (64 KiB), not 8 MiB.
 */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { createHash } from 'node:crypto';

export interface PartBody {
  readonly length: number;
  /** The bytes as a new stream (one per send: a stream is read once). */
  stream(): Readable;
  /** The bytes in order, as views of one reused buffer (for hashing: keep nothing of a chunk). */
  chunks(): AsyncIterable<Buffer>;
}

const STREAM_CHUNK = 64 * 1024;
const HASH_CHUNK = 256 * 1024;

/** `length` bytes of `file` from `start`; reading it throws if the file ends before. */
export function fileRangeBody(file: string, start: number, length: number): PartBody {
  return {
    length,
    stream: () => (length === 0 ? Readable.from([]) : createReadStream(file, { start, end: start + length - 1, highWaterMark: STREAM_CHUNK })),
    async *chunks() {
      if (length === 0) return;
      const handle = await open(file, 'r');
      try {
        const buffer = Buffer.allocUnsafe(Math.min(HASH_CHUNK, length));
        for (let at = 0; at < length; ) {
          const { bytesRead } = await handle.read(buffer, 0, Math.min(buffer.length, length - at), start + at);
          if (bytesRead === 0) throw new Error(`${file}: ends at ${start + at}, before ${start + length}`);
          at += bytesRead;
          yield buffer.subarray(0, bytesRead);
        }
      } finally {
        await handle.close();
      }
    },
  };
}

/** Bytes in memory as a part (small objects, tests). */
export function bufferBody(bytes: Buffer): PartBody {
  return {
    length: bytes.length,
    stream: () => Readable.from([bytes]),
    async *chunks() {
      yield bytes;
    },
  };
}

/** The digests of a part's bytes, in one pass. */
export async function digestParts(body: PartBody, algorithms: string[]): Promise<Buffer[]> {
  const hashes = algorithms.map((a) => createHash(a));
  for await (const chunk of body.chunks()) for (const hash of hashes) hash.update(chunk);
  return hashes.map((h) => h.digest());
}
