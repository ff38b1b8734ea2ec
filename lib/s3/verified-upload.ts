/**
 * Proving that S3 stored exactly the bytes sent: the checks and the commands
 * every upload here goes through (multipart-writer.ts, whole-upload.ts).
 *
 * Why not lib-storage's Upload: it reports success from status codes alone
 * and hides the parts. Here every part is sent with its Content-MD5 (S3
 * refuses a part that arrives changed) and S3's answer for it, the part's
 * ETag, must be that MD5. The finished object's ETag must be what S3 derives
 * from those parts (MD5 of the part MD5s, "-N"), and a HEAD must show that
 * ETag and the size. Where the ETag is not in that form (SSE-KMS, SSE-C; an
 * S3 implementation that gives a multipart object the MD5 of its whole
 * content), the object is read back and its SHA-256 compared: hashing every
 * byte once more with MD5 for those few would cost every upload.
 *
 * CPU: each byte is hashed twice, SHA-256 for the record and MD5 per part
 * for S3; over HTTPS parts go with UNSIGNED-PAYLOAD, as their signed
 * Content-MD5 already binds the body to the request (over plain HTTP the
 * signature needs the body's SHA-256 too).
 *
 * A CompleteMultipartUpload whose answer was lost (the connection cut after
 * S3 acted) is retried by the SDK and then fails with NoSuchUpload; the
 * object is then checked as if the answer had come.
 */
import { createHash } from 'node:crypto';
import {
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  UploadPartCommand,
  type PutObjectCommandInput,
  type S3Client,
  type UploadPartCommandInput,
} from '@aws-sdk/client-s3';
import type { Readable, Writable } from 'node:stream';
import { digestParts, type PartBody } from './part-body.js';

export interface UploadOutcome {
  bytes: number;
  /** Hex SHA-256 of the content. */
  sha256: string;
  /** The object's ETag as S3 gave it (quotes removed). */
  etag: string;
}

export class ArchiveVerificationError extends Error {
  override name = 'ArchiveVerificationError';
}

export const MD5_ETAG = /^[0-9a-f]{32}(-\d+)?$/;

export function unquote(etag: string | undefined): string {
  return (etag ?? '').replace(/"/g, '');
}

/** S3's ETag of a multipart object: MD5 of the part MD5s, "-", the part count. */
export function multipartEtag(partMd5s: Buffer[]): string {
  return `${createHash('md5').update(Buffer.concat(partMd5s)).digest('hex')}-${partMd5s.length}`;
}

/** What a stored object's ETag says about it: the bytes sent, other bytes, or nothing to go by (read it back). */
export type EtagVerdict = 'sent' | 'other' | 'read back';

/**
 * `expected` is the MD5 of a plain PUT's content or S3's multipart form. An
 * ETag of the same form that differs is another object; a multipart object
 * with a plain MD5 ETag (the whole content's, as some S3 implementations give)
 * or any ETag that is no MD5 (encrypted objects) says nothing for sure.
 */
export function etagVerdict(etag: string, expected: string): EtagVerdict {
  if (etag === expected) return 'sent';
  if (!MD5_ETAG.test(etag)) return 'read back';
  const multipart = expected.includes('-');
  if (multipart && !etag.includes('-')) return 'read back';
  return 'other';
}

/**
 * Requests whose body goes with a Content-MD5 are sent as UNSIGNED-PAYLOAD
 * over HTTPS: the SDK would otherwise SHA-256 the whole body to sign it, a
 * third hash of every byte; TLS and the signed Content-MD5 already bind the
 * body (S3 refuses a body that does not match it). Over plain HTTP the body
 * stays signed, as S3-compatible stores may require there (MinIO does).
 */
function markUnsigned(request: unknown): void {
  const { headers, protocol } = request as { headers?: Record<string, string>; protocol?: string };
  if (protocol === 'https:' && headers?.['content-md5']) headers['x-amz-content-sha256'] = 'UNSIGNED-PAYLOAD';
}

/*
 * Commands whose body is read from where the bytes are kept (part-body.ts),
 * never held whole in memory. The body is signed as UNSIGNED-PAYLOAD over
 * HTTPS (markUnsigned); over plain HTTP its SHA-256 is read from where the
 * bytes are kept and signed, as the SDK does for a buffer (it cannot for a
 * stream). Every attempt (the SDK's retries included) sends a fresh stream:
 * a stream is read only once. Outside an attempt the request's body is an
 * empty placeholder, not a stream: the SDK does not retry a request whose
 * body is a stream (it could not send it again), and says so on the console.
 */
const NO_BODY = new Uint8Array(0);
const PAYLOAD_HASH = { step: 'build', name: 'partBodyPayloadHash' } as const;
const FRESH_BODY = { step: 'deserialize', priority: 'low', name: 'partBodyFreshStream' } as const;

/** An UploadPart of a part kept elsewhere, with its Content-MD5. */
export function uploadPartCommand(input: Omit<UploadPartCommandInput, 'Body' | 'ContentLength'> & { ContentMD5: string }, body: PartBody): UploadPartCommand {
  const command = new UploadPartCommand({ ...input, Body: NO_BODY, ContentLength: body.length });
  command.middlewareStack.add((next) => async (args) => (await signPayload(args.request, body), next(args)), PAYLOAD_HASH);
  command.middlewareStack.add((next) => (args) => withFreshBody(args.request, body, () => next(args)), FRESH_BODY);
  return command;
}

/** A PutObject of bytes kept elsewhere, with their Content-MD5. */
export function putObjectCommand(input: Omit<PutObjectCommandInput, 'Body' | 'ContentLength'> & { ContentMD5: string }, body: PartBody): PutObjectCommand {
  const command = new PutObjectCommand({ ...input, Body: NO_BODY, ContentLength: body.length });
  command.middlewareStack.add((next) => async (args) => (await signPayload(args.request, body), next(args)), PAYLOAD_HASH);
  command.middlewareStack.add((next) => (args) => withFreshBody(args.request, body, () => next(args)), FRESH_BODY);
  return command;
}

async function signPayload(request: unknown, body: PartBody): Promise<void> {
  markUnsigned(request);
  const headers = (request as { headers?: Record<string, string> }).headers;
  if (headers && headers['x-amz-content-sha256'] === undefined) {
    const [sha256] = await digestParts(body, ['sha256']);
    headers['x-amz-content-sha256'] = sha256!.toString('hex');
  }
}

/**
 * A read error of a body stream (its spool file removed under a send, as
 * when a replica stops) must neither end the process nor leave a request
 * waiting for bytes. Unhandled it did end it: a stream closed while its file
 * is still being opened (the request failed before reading it) emits the
 * open's error afterwards, and the SDK's `body.pipe(request)` listens to no
 * error of the body. Here every read error is handled, and one that comes
 * while (or before) the body is piped destroys the request with it, so the
 * send fails (and may be tried again).
 */
function failingTheRequest(stream: Readable): Readable {
  let target: Writable | undefined;
  let failure: Error | undefined;
  const pipe = stream.pipe.bind(stream);
  stream.pipe = <W extends NodeJS.WritableStream>(destination: W, options?: { end?: boolean }): W => {
    target = destination as unknown as Writable;
    if (failure) target.destroy(failure);
    return pipe(destination, options);
  };
  stream.on('error', (error: Error) => {
    failure = error;
    target?.destroy(error);
  });
  return stream;
}

async function withFreshBody<T>(request: unknown, body: PartBody, send: () => Promise<T>): Promise<T> {
  const stream = failingTheRequest(body.stream());
  const carrier = request as { body?: unknown };
  carrier.body = stream;
  try {
    return await send();
  } finally {
    carrier.body = NO_BODY;
    // Not read through (the request failed early): its file is closed now, not when collected.
    stream.destroy();
  }
}

export function isNoSuchUpload(error: unknown): boolean {
  const e = error as { name?: string; Code?: string; $metadata?: { httpStatusCode?: number } };
  return e.name === 'NoSuchUpload' || e.Code === 'NoSuchUpload';
}

/** Checks the ETag a PUT or a completion answered (the HEAD after it decides what it could not). */
export function checkEtag(where: string, etag: string, expected: string): void {
  if (etagVerdict(etag, expected) === 'other') {
    throw new ArchiveVerificationError(`${where}: S3 answered ETag ${etag}, expected ${expected} for the bytes sent`);
  }
}

/**
 * Checks the stored object: its size, and its ETag against the one
 * expected; an ETag that cannot tell (etagVerdict) is settled by reading
 * the object back and comparing its SHA-256. Returns the ETag.
 */
export async function verifyStored(
  client: S3Client,
  bucket: string,
  key: string,
  bytes: number,
  expectedEtag: string,
  sha256: string,
  signal: AbortSignal,
): Promise<string> {
  const where = `s3://${bucket}/${key}`;
  const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: signal });
  if (head.ContentLength !== bytes) throw new ArchiveVerificationError(`${where} holds ${head.ContentLength ?? 'no'} bytes, expected ${bytes}`);
  const etag = unquote(head.ETag);
  const verdict = etagVerdict(etag, expectedEtag);
  if (verdict === 'sent') return etag;
  if (verdict === 'other') throw new ArchiveVerificationError(`${where} has ETag ${etag}, expected ${expectedEtag}: it is not what was uploaded`);
  const object = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: signal });
  const hash = createHash('sha256');
  for await (const chunk of object.Body as AsyncIterable<Uint8Array>) hash.update(chunk);
  const stored = hash.digest('hex');
  if (stored !== sha256) throw new ArchiveVerificationError(`${where} reads back with SHA-256 ${stored}, expected ${sha256}`);
  return etag;
}
