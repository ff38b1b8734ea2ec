/**
 * Uploading a container's log while it runs: every whole part the spool
 * commits goes to a multipart upload under the log's archive key at once,
 * read back from the spool file (the page cache, usually), so that when the
 * container ends only the last piece and the completion remain.
 *
 * Memory, by construction: part buffers come from one pool shared by every
 * capture (PartPool: at most `count` buffers of the part size, allocated
 * when first needed and reused); a capture holds one only while a part of it
 * is on its way, and waits for one otherwise (its bytes wait in the spool,
 * on disk). The last piece (at most a part) is read into a pool buffer too
 * when the pod is archived.
 *
 * What can go wrong, and what then: S3 failing a part → the part is sent
 * again with back-off (the spool keeps the bytes; S3 down for an hour costs
 * disk, not memory); the upload gone (aborted by someone, NoSuchUpload) or
 * S3 storing other bytes → this stream is given up and the archive uploads
 * the spool whole, as for a log that was never streamed. The capture stopped
 * (leadership lost, pod given up) → the upload is aborted; nothing was ever
 * visible under the key, since only the completion makes the object.
 */
import { createHash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
import type { Logger } from 'pino';
import { backoffDelay, sleep, type BackoffPolicy } from '../lib/kube/backoff.js';
import type { VerifiedMultipartWriter } from '../lib/s3/multipart-writer.js';
import type { UploadJournal } from './spool-journal.js';
import { ArchiveVerificationError, isNoSuchUpload, type UploadOutcome } from '../lib/s3/verified-upload.js';

/** Part buffers shared by all streamed logs. Bound: `count` buffers of `size` bytes. */
export class PartPool {
  private readonly free: Buffer[] = [];
  private allocated = 0;
  /** Bound: one waiter per streamed log at most (each waits for one buffer at a time). */
  private readonly waiters: Array<(buffer: Buffer) => void> = [];

  constructor(
    readonly size: number,
    readonly count: number,
  ) {}

  /** A buffer, once one is free; undefined if `signal` aborts first. */
  async take(signal: AbortSignal): Promise<Buffer | undefined> {
    const ready = this.tryTake();
    if (ready) return ready;
    return new Promise((resolve) => {
      const waiter = (buffer: Buffer): void => {
        signal.removeEventListener('abort', onAbort);
        resolve(buffer);
      };
      const onAbort = (): void => {
        const at = this.waiters.indexOf(waiter);
        if (at >= 0) this.waiters.splice(at, 1);
        resolve(undefined);
      };
      if (signal.aborted) return resolve(undefined);
      signal.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  /** A buffer if one is free now (for a capture that already holds one: it must never wait holding one). */
  tryTake(): Buffer | undefined {
    return this.free.pop() ?? (this.allocated < this.count ? (this.allocated++, Buffer.allocUnsafe(this.size)) : undefined);
  }

  give(buffer: Buffer): void {
    const next = this.waiters.shift();
    if (next) next(buffer);
    else this.free.push(buffer);
  }
}

/** The stream broke while the archive was finishing it. */
class StreamBroken extends Error {}

export interface StreamedLogDeps {
  writer: VerifiedMultipartWriter;
  /** The instance's spool file. */
  file: string;
  pool: PartPool;
  backoff: BackoffPolicy;
  logger: Logger;
  /** The capture's signal: parts are sent while it lasts. */
  signal: AbortSignal;
  /** Parts on their way at once (default 1); each holds a pool buffer, taken only if free, beyond the first. */
  concurrency?: number;
}

/** A part read from the spool and sent, not yet taken into the upload. */
interface PartInFlight {
  partNumber: number;
  buffer: Buffer;
  md5: Buffer;
  /** Settles with the send's error, or undefined once S3 has the part. */
  sent: Promise<unknown>;
}

export class StreamedLog {
  /** Spool bytes S3 holds as parts. */
  private streamed = 0;
  private committed = 0;
  private pumping: Promise<void> | undefined;
  private finishing = false;
  /** Why this stream cannot be used (the archive then uploads the spool whole). */
  private broken: string | undefined;
  private handle: Promise<FileHandle> | undefined;

  /** Called when S3 accepted another part (the journal records it). */
  onPart: () => void = () => undefined;

  constructor(private readonly deps: StreamedLogDeps) {}

  /** The upload as far as it went, for the journal (undefined before the first part and once completed). */
  progress(): UploadJournal | undefined {
    const progress = this.deps.writer.progress();
    return progress ? { key: this.key, ...progress } : undefined;
  }

  /**
   * Takes up the upload an earlier process journaled, checking every part
   * against the spool; false (and that upload aborted) when it cannot be:
   * this stream then starts afresh.
   */
  async resume(upload: UploadJournal): Promise<boolean> {
    const size = this.deps.pool.size;
    const self = this;
    async function* parts(): AsyncGenerator<Buffer> {
      for (let at = 0; at < upload.bytes; at += size) {
        const part = Buffer.allocUnsafe(Math.min(size, upload.bytes - at));
        await self.readAt(part, at);
        yield part;
      }
    }
    const taken =
      upload.key === this.key && upload.bytes === upload.partMd5s.length * size && (await this.deps.writer.resume(upload.uploadId, upload.partMd5s, parts()).catch(() => false));
    if (taken) this.streamed = upload.bytes;
    else await this.deps.writer.abortUpload(upload.uploadId);
    return taken;
  }

  get key(): string {
    return this.deps.writer.key;
  }

  /** Bytes already in S3, for tests and logs. */
  get uploadedBytes(): number {
    return this.streamed;
  }

  /** The spool holds `committed` bytes for good: whole parts among them go up now. */
  grew(committed: number): void {
    this.committed = committed;
    if (this.pumping || this.finishing || this.broken !== undefined || this.deps.signal.aborted) return;
    if (this.committed - this.streamed < this.deps.pool.size) return;
    this.pumping = this.pump().finally(() => {
      this.pumping = undefined;
    });
  }

  private async pump(): Promise<void> {
    const { signal, logger, writer } = this.deps;
    try {
      await this.sendParts(() => this.committed, signal, () => !this.finishing);
    } catch (error) {
      if (!signal.aborted && !this.giveUpOn(error)) logger.warn({ err: error, key: writer.key }, 'uploading log parts stopped; the archive sends the rest');
    }
  }

  /**
   * Sends the whole parts of the spool's first `end()` bytes not yet in S3, up to `concurrency` at once, taking each into
   * the upload in order. A failed part is sent again with back-off (the ones
   * after it wait, held). Returns when no whole part is left, `going()` turns
   * false, the signal aborts or the stream breaks; throws what ends it otherwise.
   */
  private async sendParts(end: () => number, signal: AbortSignal, going: () => boolean): Promise<void> {
    const { pool, writer, logger } = this.deps;
    const size = pool.size;
    const concurrency = Math.max(1, this.deps.concurrency ?? 1);
    const window: PartInFlight[] = [];
    const send = (part: PartInFlight): Promise<unknown> =>
      writer.sendPart(part.partNumber, part.buffer.subarray(0, size), part.md5, signal).then(
        () => undefined,
        (error: unknown) => error ?? new Error('failed'),
      );
    const live = (): boolean => going() && this.broken === undefined && !signal.aborted;
    try {
      for (;;) {
        // Fill the window: the first buffer may be waited for, more only if free (never wait holding one).
        while (live() && window.length < concurrency && end() - (this.streamed + window.length * size) >= size) {
          const buffer = window.length === 0 ? await pool.take(signal) : pool.tryTake();
          if (!buffer) break;
          const offset = this.streamed + window.length * size;
          const body = buffer.subarray(0, size);
          try {
            await this.readAt(body, offset);
          } catch (error) {
            pool.give(buffer);
            throw error;
          }
          const part: PartInFlight = { partNumber: offset / size + 1, buffer, md5: createHash('md5').update(body).digest(), sent: Promise.resolve() };
          part.sent = send(part);
          window.push(part);
        }
        const head = window[0];
        if (!head) return;
        let error = await head.sent;
        for (let failures = 1; error !== undefined; failures++) {
          if (signal.aborted || this.giveUpOn(error)) return;
          logger.warn({ err: error, key: writer.key, part: head.partNumber, failures }, 'uploading a log part failed; will send it again');
          await sleep(backoffDelay(this.deps.backoff, failures), signal);
          if (signal.aborted) return;
          error = await send(head);
        }
        writer.accept(head.partNumber, head.buffer.subarray(0, size), head.md5);
        window.shift();
        pool.give(head.buffer);
        this.streamed += size;
        this.onPart();
        if (!live() && window.length === 0) return;
      }
    } finally {
      // Parts still on their way are left to settle (S3 may keep them: they are sent again if needed), then their buffers go back.
      for (const part of window) void part.sent.then(() => pool.give(part.buffer));
    }
  }

  /** sendParts up to `end` for the archive, which must get there: what stops it short is thrown. */
  private async sendPartsOrThrow(end: number, signal: AbortSignal): Promise<void> {
    const target = end - (end % this.deps.pool.size);
    await this.sendParts(() => target, signal, () => true);
    if (signal.aborted) throw signal.reason ?? new Error('aborted');
    if (this.broken !== undefined) throw new StreamBroken(this.broken);
    if (this.streamed < target) throw new Error(`${this.deps.writer.key}: only ${this.streamed} of ${target} bytes went up as parts`);
  }

  /** Errors after which the stream is not worth going on with (true: marked broken). */
  private giveUpOn(error: unknown): boolean {
    if (isNoSuchUpload(error)) this.broken = 'the multipart upload is gone';
    else if (error instanceof ArchiveVerificationError) this.broken = error.message;
    if (this.broken === undefined) return false;
    this.deps.logger.warn({ err: error, key: this.deps.writer.key }, 'giving up the streamed upload; the log will be uploaded whole');
    return true;
  }

  private async readAt(into: Buffer, position: number): Promise<void> {
    this.handle ??= open(this.deps.file, 'r');
    const handle = await this.handle;
    for (let filled = 0; filled < into.length; ) {
      const { bytesRead } = await handle.read(into, filled, into.length - filled, position + filled);
      if (bytesRead === 0) throw new Error(`${this.deps.file}: the spool ends at ${position + filled}, before ${position + into.length}`);
      filled += bytesRead;
    }
  }

  /**
   * Completes the object with the spool's first `bytes` bytes (the whole
   * log) and proves what S3 stored. Undefined when the stream cannot be used:
   * the caller uploads the spool whole then. Repeatable after a failure.
   */
  async finish(bytes: number, signal: AbortSignal): Promise<UploadOutcome | undefined> {
    this.finishing = true;
    await this.pumping;
    if (this.broken === undefined && bytes < this.streamed) this.broken = `the spool holds ${bytes} bytes, fewer than the ${this.streamed} already uploaded`;
    if (this.broken !== undefined) {
      await this.abandon();
      return undefined;
    }
    try {
      // Every whole part but the last piece (which may be a whole part: the completion needs a last part).
      await this.sendPartsOrThrow(bytes - 1, signal);
      // The last piece (at most a part) in a pool buffer too: a buffer of its own added a part's size to the peak.
      const buffer = await this.deps.pool.take(signal);
      if (!buffer) throw signal.reason ?? new Error('aborted');
      let outcome: UploadOutcome;
      try {
        const last = buffer.subarray(0, bytes - this.streamed);
        await this.readAt(last, this.streamed);
        outcome = await this.deps.writer.complete(last, signal);
      } finally {
        this.deps.pool.give(buffer);
      }
      await this.close();
      return outcome;
    } catch (error) {
      if (!signal.aborted && (error instanceof StreamBroken || this.giveUpOn(error))) {
        await this.abandon();
        return undefined;
      }
      throw error;
    }
  }

  /** Not to be completed (the capture stopped, or another object is kept under the key): its parts are dropped. */
  async abandon(): Promise<void> {
    this.finishing = true;
    this.broken ??= 'abandoned';
    await this.pumping;
    await this.deps.writer.abort();
    await this.close();
  }

  private async close(): Promise<void> {
    const handle = this.handle;
    this.handle = undefined;
    if (handle) await (await handle.catch(() => undefined))?.close();
  }
}
