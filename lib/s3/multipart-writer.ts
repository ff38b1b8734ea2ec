/**
 * A multipart upload fed one part at a time, as a log grows, and verified
 * like every upload (verified-upload.ts): each part goes with its
 * Content-MD5 and its ETag must be that MD5; the finished object's ETag must
 * be the one S3 derives from the parts, and a HEAD must show it and the size.
 * A part is read once to be prepared (`prepare`): its MD5 and the SHA-256 of
 * the whole as it will be once the part is in, chained from the part before
 * it (a copy of that hash state), the only hashing of the bytes (see
 * verified-upload.ts). The whole's SHA-256 moves on only when S3 accepted
 * the part and it is taken in (`accept`), in order.
 *
 * Nothing is visible under the key before the completion, so an abandoned
 * writer (a controller killed, leadership lost) leaves no half object, only
 * parts that an abort (or the bucket's lifecycle rule) removes. Every step
 * may be repeated after a failure: a part is hashed in only once S3 accepted
 * it, and `complete` picks up where an earlier call stopped.
 *
 * Memory: none of its own beyond the hash states: parts are read from
 * where the caller keeps them (part-body.ts), hashed in chunks and sent as
 * streams, so a part on its way costs a stream's buffer, not the part.
 */
import { createHash, type Hash } from 'node:crypto';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { PartBody } from './part-body.js';
import {
  checkEtag,
  isNoSuchUpload,
  MD5_ETAG,
  multipartEtag,
  unquote,
  putObjectCommand,
  uploadPartCommand,
  verifyStored,
  ArchiveVerificationError,
  type UploadOutcome,
} from './verified-upload.js';

export interface MultipartWriterOptions {
  client: S3Client;
  bucket: string;
  key: string;
  contentType: string;
}

/** A part read through once: what sending it and taking it into the upload need. */
export interface PreparedPart {
  readonly partNumber: number;
  readonly body: PartBody;
  readonly md5: Buffer;
  /** The SHA-256 state of the whole once this part is in. */
  readonly wholeAfter: Hash;
  /** The part it follows: prepared before it, or the last taken in when it was prepared (undefined: none). */
  readonly after: PreparedPart | undefined;
}

export class VerifiedMultipartWriter {
  private uploadId: string | undefined;
  /** The CreateMultipartUpload under way, for parts sent before it answered. */
  private creating: Promise<string> | undefined;
  private readonly partMd5s: Buffer[] = [];
  private sha256 = createHash('sha256');
  /** The last part taken in (prepared parts chain from it). */
  private lastAccepted: PreparedPart | undefined;
  private acceptedBytes = 0;
  /** Set once the last piece is in S3: the hashes are final then. */
  private sealed: { sha256: string; expected: string; bytes: number; completed: boolean } | undefined;
  private outcome: UploadOutcome | undefined;

  constructor(private readonly options: MultipartWriterOptions) {}

  /** What a journal needs to resume this upload (undefined before the first part, or once completed). */
  progress(): { uploadId: string; partMd5s: string[]; bytes: number } | undefined {
    if (this.uploadId === undefined || this.sealed) return undefined;
    return { uploadId: this.uploadId, partMd5s: this.partMd5s.map((m) => m.toString('hex')), bytes: this.acceptedBytes };
  }

  /**
   * Takes up an upload an earlier process began: its id, and its parts as
   * `parts` gives them back (read from the spool, which holds every byte
   * uploaded). Each part must have the MD5 the journal recorded, or the
   * upload is not taken up (false; the caller starts afresh). S3 keeps the
   * parts; the hashes of the whole are computed again from these bytes.
   */
  async resume(uploadId: string, partMd5s: string[], parts: Iterable<PartBody>): Promise<boolean> {
    if (this.uploadId !== undefined || this.partMd5s.length > 0) throw new Error(`${this.where}: resume only a fresh writer`);
    const prepared: PreparedPart[] = [];
    for (const part of parts) {
      const next = await this.prepare(part, prepared.at(-1));
      if (next.md5.toString('hex') !== partMd5s[prepared.length]) return false;
      prepared.push(next);
    }
    if (prepared.length !== partMd5s.length) return false;
    // Only now, with everything checked, does this writer take the upload on.
    for (const part of prepared) this.accept(part);
    this.uploadId = uploadId;
    return true;
  }

  get key(): string {
    return this.options.key;
  }

  /** Bytes S3 accepted so far (whole parts). */
  get bytes(): number {
    return this.acceptedBytes;
  }

  get parts(): number {
    return this.partMd5s.length;
  }

  private get where(): string {
    return `s3://${this.options.bucket}/${this.options.key}`;
  }

  /** Uploads the next part (at least 5 MiB, as S3 needs for all parts but the last); hashed in once S3 has it. */
  async uploadPart(body: PartBody, signal: AbortSignal): Promise<void> {
    const part = await this.prepare(body);
    await this.sendPart(part, signal);
    this.accept(part);
  }

  /**
   * Reads a part through once: its MD5 and the whole's SHA-256 once it is in,
   * following `after` (a part prepared before it, not yet taken in) or the
   * parts taken in so far.
   */
  async prepare(body: PartBody, after?: PreparedPart): Promise<PreparedPart> {
    const md5 = createHash('md5');
    const whole = (after?.wholeAfter ?? this.sha256).copy();
    for await (const chunk of body.chunks()) {
      md5.update(chunk);
      whole.update(chunk);
    }
    return { partNumber: after ? after.partNumber + 1 : this.partMd5s.length + 1, body, md5: md5.digest(), wholeAfter: whole, after: after ?? this.lastAccepted };
  }

  /**
   * Sends part `partNumber` with its MD5 and checks S3's answer, nothing
   * more: several may be on their way at once, and each is taken into the
   * upload (accept) in order once S3 has it. Sending a part again replaces it.
   */
  async sendPart({ partNumber, body, md5 }: PreparedPart, signal: AbortSignal): Promise<void> {
    if (this.sealed) throw new Error(`${this.where}: no parts after the last one`);
    const { client, bucket, key } = this.options;
    const uploadId = await this.upload(signal);
    const answer = await client.send(
      uploadPartCommand({ Bucket: bucket, Key: key, UploadId: uploadId, PartNumber: partNumber, ContentMD5: md5.toString('base64') }, body),
      { abortSignal: signal },
    );
    const etag = unquote(answer.ETag);
    if (etag !== md5.toString('hex') && MD5_ETAG.test(etag)) {
      throw new ArchiveVerificationError(`${this.where}: S3 stored part ${partNumber} with ETag ${etag}, not the MD5 of what was sent (${md5.toString('hex')})`);
    }
  }

  /** Takes a part S3 accepted into the upload, with its hashes; parts come in order, each once, as prepared one after the other. */
  accept(part: PreparedPart): void {
    if (part.partNumber !== this.partMd5s.length + 1 || part.after !== this.lastAccepted) {
      throw new Error(`${this.where}: part ${part.partNumber} taken in out of order (next is ${this.partMd5s.length + 1}, prepared after another part)`);
    }
    this.sha256 = part.wholeAfter;
    this.lastAccepted = part;
    this.partMd5s.push(part.md5);
    this.acceptedBytes += part.body.length;
  }

  /** The upload's id, creating the upload once (parts sent at once share it). */
  private async upload(signal: AbortSignal): Promise<string> {
    if (this.uploadId !== undefined) return this.uploadId;
    const { client, bucket, key, contentType } = this.options;
    this.creating ??= client
      .send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, ContentType: contentType }), { abortSignal: signal })
      .then((created) => {
        if (!created.UploadId) throw new Error(`${this.where}: S3 answered CreateMultipartUpload without an upload id`);
        return created.UploadId;
      })
      .finally(() => {
        this.creating = undefined;
      });
    const uploadId = await this.creating;
    this.uploadId ??= uploadId;
    return this.uploadId;
  }

  /**
   * Finishes the object with its last piece (any size, may be empty) and
   * proves what S3 stored. Repeatable: a call after a failure goes on from
   * where the last stopped (`last` must be the same bytes).
   */
  async complete(last: PartBody, signal: AbortSignal): Promise<UploadOutcome> {
    if (this.outcome) return this.outcome;
    const { client, bucket, key, contentType } = this.options;
    if (!this.sealed) {
      if (this.uploadId === undefined) {
        // Shorter than a part: one plain, verified PUT.
        const { md5, wholeAfter } = await this.prepare(last);
        const answer = await client.send(putObjectCommand({ Bucket: bucket, Key: key, ContentType: contentType, ContentMD5: md5.toString('base64') }, last), { abortSignal: signal });
        const expected = md5.toString('hex');
        checkEtag(this.where, unquote(answer.ETag), expected);
        this.sealed = { sha256: wholeAfter.digest('hex'), expected, bytes: last.length, completed: true };
      } else {
        if (last.length > 0) await this.uploadPart(last, signal);
        this.sealed = {
          sha256: this.sha256.digest('hex'),
          expected: multipartEtag(this.partMd5s),
          bytes: this.acceptedBytes,
          completed: false,
        };
      }
    }
    const sealed = this.sealed;
    if (!sealed.completed) {
      try {
        const answer = await client.send(
          new CompleteMultipartUploadCommand({
            Bucket: bucket,
            Key: key,
            UploadId: this.uploadId,
            MultipartUpload: { Parts: this.partMd5s.map((md5, i) => ({ PartNumber: i + 1, ETag: `"${md5.toString('hex')}"` })) },
          }),
          { abortSignal: signal },
        );
        checkEtag(this.where, unquote(answer.ETag), sealed.expected);
      } catch (error) {
        // The completion may have happened with its answer lost: S3 then answers a repeated one NoSuchUpload, and
        // some implementations (s3rver) 500 InternalError, for ever. The object, if it is there as expected, decides.
        if (!isNoSuchUpload(error) && !(await this.storedAsSealed(sealed, signal))) throw error;
      }
      sealed.completed = true;
    }
    const etag = await verifyStored(client, bucket, key, sealed.bytes, sealed.expected, sealed.sha256, signal);
    this.uploadId = undefined;
    this.outcome = { bytes: sealed.bytes, sha256: sealed.sha256, etag };
    return this.outcome;
  }

  /** Whether the object under the key is the one these parts make (size and ETag, or SHA-256 read back). */
  private async storedAsSealed(sealed: { bytes: number; expected: string; sha256: string }, signal: AbortSignal): Promise<boolean> {
    const { client, bucket, key } = this.options;
    return verifyStored(client, bucket, key, sealed.bytes, sealed.expected, sealed.sha256, signal).then(
      () => true,
      () => false,
    );
  }

  /** Drops the upload's parts (best effort; the bucket's lifecycle rule is the backstop). */
  async abort(): Promise<void> {
    const uploadId = this.uploadId;
    if (uploadId === undefined || this.outcome) return;
    this.uploadId = undefined;
    await this.abortUpload(uploadId);
  }

  /** Drops the parts of an upload of this key that an earlier process began and no one will finish (best effort). */
  async abortUpload(uploadId: string): Promise<void> {
    await this.options.client
      .send(new AbortMultipartUploadCommand({ Bucket: this.options.bucket, Key: this.options.key, UploadId: uploadId }), { abortSignal: AbortSignal.timeout(5_000) })
      .catch(() => undefined);
  }
}
