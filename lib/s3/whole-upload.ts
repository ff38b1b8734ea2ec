/**
 * Uploading content whose bytes are all there already (a spool at the end,
 * a document) and proving what S3 stored, through the same verified
 * multipart writer as a log streamed while it runs (multipart-writer.ts):
 * up to a part, one PUT; beyond, parts sent `queueSize` at once and taken
 * into the upload in order, then the last piece and the completion.
 *
 * Memory: none for the content. Each part is read from where it is kept
 * (part-body.ts) to be hashed and again to be sent, as a stream.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { PartBody } from './part-body.js';
import { VerifiedMultipartWriter, type PreparedPart } from './multipart-writer.js';
import type { UploadOutcome } from './verified-upload.js';

export interface WholeUploadOptions {
  client: S3Client;
  bucket: string;
  key: string;
  contentType: string;
  /** The content's length. */
  bytes: number;
  /** The content's bytes [start, start + length), read as often as needed. */
  range(start: number, length: number): PartBody;
  /** At least 5 MiB (S3's minimum for all parts but the last). */
  partSizeBytes: number;
  /** Parts on their way at once. */
  queueSize: number;
  signal: AbortSignal;
}

interface PartOnItsWay {
  part: PreparedPart;
  /** Settles with the send's error, or undefined once S3 has the part. */
  sent: Promise<unknown>;
}

export async function uploadWhole(options: WholeUploadOptions): Promise<UploadOutcome> {
  const { client, bucket, key, contentType, bytes, partSizeBytes: size, signal } = options;
  const writer = new VerifiedMultipartWriter({ client, bucket, key, contentType });
  // Where the last piece starts: it may be a whole part (the completion needs a last part). Up to a part: one PUT.
  const lastStart = bytes <= size ? 0 : (Math.ceil(bytes / size) - 1) * size;
  const window: PartOnItsWay[] = [];
  try {
    for (let next = 0; next < lastStart || window.length > 0; ) {
      while (next < lastStart && window.length < Math.max(1, options.queueSize)) {
        const part = await writer.prepare(options.range(next, size), window.at(-1)?.part);
        const sent = writer.sendPart(part, signal).then(
          () => undefined,
          (error: unknown) => error ?? new Error('failed'),
        );
        window.push({ part, sent });
        next += size;
      }
      const head = window.shift()!;
      const error = await head.sent;
      if (error !== undefined) throw error;
      writer.accept(head.part);
    }
    return await writer.complete(options.range(lastStart, bytes - lastStart), signal);
  } catch (error) {
    await Promise.all(window.map((part) => part.sent));
    // Best effort, so no parts linger (a bucket lifecycle rule is the backstop).
    await writer.abort();
    throw error;
  }
}
