/**
 * Writing to the archive bucket: uploads whose parts are read from where the
 * bytes are kept (never a whole object, nor a whole part, in memory), each
 * verified by content (MD5 ETags, SHA-256; see lib/s3/verified-upload.ts)
 * before anyone relies on it, and the job record read back for merging.
 */
import { GetObjectCommand, HeadObjectCommand, NoSuchKey, type S3Client } from '@aws-sdk/client-s3';
import { unquote, type UploadOutcome } from '../s3/verified-upload.js';
import { VerifiedMultipartWriter } from '../s3/multipart-writer.js';
import { bufferBody, type PartBody } from '../s3/part-body.js';
import { uploadWhole } from '../s3/whole-upload.js';

export { ArchiveVerificationError } from '../s3/verified-upload.js';
export type { UploadOutcome } from '../s3/verified-upload.js';

export interface S3ArchiveOptions {
  client: S3Client;
  bucket: string;
  partSizeBytes: number;
  queueSize: number;
}

function isNotFound(error: unknown): boolean {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  return error instanceof NoSuchKey || e.name === 'NoSuchKey' || e.name === 'NotFound' || e.$metadata?.httpStatusCode === 404;
}

export class S3Archive {
  constructor(private readonly options: S3ArchiveOptions) {}

  get bucket(): string {
    return this.options.bucket;
  }

  /** Uploads `bytes` bytes, read through `range` (as often as needed), and proves S3 stored exactly them. */
  upload(key: string, range: (start: number, length: number) => PartBody, bytes: number, contentType: string, signal: AbortSignal): Promise<UploadOutcome> {
    const { client, bucket, partSizeBytes, queueSize } = this.options;
    return uploadWhole({ client, bucket, key, contentType, bytes, range, partSizeBytes, queueSize, signal });
  }

  /** A multipart upload to `key` fed part by part (a log streamed while it is written). */
  multipartWriter(key: string, contentType: string): VerifiedMultipartWriter {
    return new VerifiedMultipartWriter({ client: this.options.client, bucket: this.options.bucket, key, contentType });
  }

  /** Whether `key` still holds the object an earlier upload verified (same size and ETag). */
  async holds(key: string, bytes: number, etag: string, signal: AbortSignal): Promise<boolean> {
    try {
      const head = await this.options.client.send(new HeadObjectCommand({ Bucket: this.options.bucket, Key: key }), { abortSignal: signal });
      return head.ContentLength === bytes && unquote(head.ETag) === etag;
    } catch (error) {
      if (isNotFound(error)) return false;
      throw error;
    }
  }

  /** Stores a JSON document, verified like every upload. */
  async putJson(key: string, value: unknown, signal: AbortSignal): Promise<void> {
    const body = Buffer.from(`${JSON.stringify(value, null, 2)}\n`);
    await this.upload(key, (start, length) => bufferBody(body.subarray(start, start + length)), body.length, 'application/json', signal);
  }

  /** A stored JSON document, or undefined if there is none. */
  async getJson<T>(key: string, signal: AbortSignal): Promise<T | undefined> {
    try {
      const response = await this.options.client.send(new GetObjectCommand({ Bucket: this.options.bucket, Key: key }), { abortSignal: signal });
      const text = (await response.Body?.transformToString('utf-8')) ?? '';
      return JSON.parse(text) as T;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }
}
