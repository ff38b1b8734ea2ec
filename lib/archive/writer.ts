/**
 * Writing to the archive bucket: streamed multipart uploads (never a whole
 * object in memory), each verified by its stored size before anyone relies
 * on it, and the job record read back for merging.
 */
import { AbortMultipartUploadCommand, GetObjectCommand, HeadObjectCommand, NoSuchKey, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { Readable } from 'node:stream';

export interface S3ArchiveOptions {
  client: S3Client;
  bucket: string;
  partSizeBytes: number;
  queueSize: number;
}

export class ArchiveVerificationError extends Error {
  override name = 'ArchiveVerificationError';
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

  /** Uploads `body` (exactly `bytes` long) to `key` and checks that S3 stored that many bytes. */
  async upload(key: string, body: Readable, bytes: number, contentType: string, signal: AbortSignal): Promise<void> {
    const abortController = new AbortController();
    const abort = (): void => abortController.abort();
    signal.addEventListener('abort', abort, { once: true });
    const upload = new Upload({
      client: this.options.client,
      params: { Bucket: this.options.bucket, Key: key, Body: body, ContentType: contentType },
      partSize: this.options.partSizeBytes,
      queueSize: this.options.queueSize,
      leavePartsOnError: false,
      abortController,
    });
    try {
      await upload.done();
    } catch (error) {
      await this.discardParts(key, upload.uploadId);
      throw error;
    } finally {
      signal.removeEventListener('abort', abort);
      body.destroy();
    }
    await this.verify(key, bytes, signal);
  }

  /**
   * Aborts a multipart upload that failed or was aborted, so its parts do not
   * linger in the bucket (lib-storage tries too, but not before an aborted
   * done() returns). Best effort: a bucket lifecycle rule is the backstop.
   */
  private async discardParts(key: string, uploadId: string | undefined): Promise<void> {
    if (!uploadId) return;
    await this.options.client
      .send(new AbortMultipartUploadCommand({ Bucket: this.options.bucket, Key: key, UploadId: uploadId }), { abortSignal: AbortSignal.timeout(5_000) })
      .catch(() => undefined);
  }

  /** Stores a JSON document and verifies its size. */
  async putJson(key: string, value: unknown, signal: AbortSignal): Promise<void> {
    const body = Buffer.from(`${JSON.stringify(value, null, 2)}\n`);
    await this.options.client.send(
      new PutObjectCommand({ Bucket: this.options.bucket, Key: key, Body: body, ContentType: 'application/json' }),
      { abortSignal: signal },
    );
    await this.verify(key, body.length, signal);
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

  private async verify(key: string, bytes: number, signal: AbortSignal): Promise<void> {
    const head = await this.options.client.send(new HeadObjectCommand({ Bucket: this.options.bucket, Key: key }), { abortSignal: signal });
    if (head.ContentLength !== bytes) {
      throw new ArchiveVerificationError(`s3://${this.options.bucket}/${key} holds ${head.ContentLength ?? 'no'} bytes, expected ${bytes}`);
    }
  }
}
