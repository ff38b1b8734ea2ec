/**
 * Uploading a container's log while it runs: every whole part the spool
 * commits goes to a multipart upload under the log's archive key at once,
 * read back from the spool file (the page cache, usually), so that when the
 * container ends only the last piece and the completion remain.
 *
 * Memory, by construction: no part is ever held in memory. A part is hashed
 * in chunks from the spool file and sent as a stream of it (part-body.ts): a
 * part on its way costs a stream's buffer (64 KiB) and a socket's. Parts on
 * their way are bounded across all captures by one set of slots (PartSlots:
 * `count`, shared); a capture holds one only while a part of it is on its
 * way, and waits for one otherwise (its bytes wait in the spool, on disk).
 *
 * What can go wrong, and what then: S3 failing a part → the part is sent
 * again with back-off (the spool keeps the bytes; S3 down for an hour costs
 * disk, not memory); the upload gone (aborted by someone, NoSuchUpload) or
 * S3 storing other bytes → this stream is given up and the archive uploads
 * the spool whole, as for a log that was never streamed. The capture stopped
 * (leadership lost, pod given up) → the upload is aborted; nothing was ever
 * visible under the key, since only the completion makes the object.
 */
import type { Logger } from 'pino';
import { backoffDelay, sleep, type BackoffPolicy } from '../lib/kube/backoff.js';
import type { PreparedPart, VerifiedMultipartWriter } from '../lib/s3/multipart-writer.js';
import { fileRangeBody, type PartBody } from '../lib/s3/part-body.js';
import type { UploadJournal } from './spool-journal.js';
import { ArchiveVerificationError, isNoSuchUpload, type UploadOutcome } from '../lib/s3/verified-upload.js';

/** Slots for parts on their way, shared by all streamed logs. Bound: `count` parts at once. */
export class PartSlots {
  private taken = 0;
  /** Bound: one waiter per streamed log at most (each waits for one slot at a time). */
  private readonly waiters: Array<() => void> = [];

  constructor(readonly count: number) {}

  /** Parts on their way now (tests, metrics). */
  get inUse(): number {
    return this.taken;
  }

  /** A slot, once one is free: true; false if `signal` aborts first. */
  async take(signal: AbortSignal): Promise<boolean> {
    if (this.tryTake()) return true;
    return new Promise((resolve) => {
      const waiter = (): void => {
        signal.removeEventListener('abort', onAbort);
        resolve(true);
      };
      const onAbort = (): void => {
        const at = this.waiters.indexOf(waiter);
        if (at >= 0) this.waiters.splice(at, 1);
        resolve(false);
      };
      if (signal.aborted) return resolve(false);
      signal.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  /** A slot if one is free now (for a capture that already holds one: it must never wait holding one). */
  tryTake(): boolean {
    if (this.taken >= this.count) return false;
    this.taken++;
    return true;
  }

  /** Gives a slot back: to the first waiter, who holds it from now. */
  give(): void {
    const next = this.waiters.shift();
    if (next) next();
    else this.taken--;
  }
}

/** The stream broke while the archive was finishing it. */
class StreamBroken extends Error {}

export interface StreamedLogDeps {
  writer: VerifiedMultipartWriter;
  /** The instance's spool file. */
  file: string;
  /** Bytes per part (all but the last); at least 5 MiB, as S3 needs. */
  partSize: number;
  slots: PartSlots;
  backoff: BackoffPolicy;
  logger: Logger;
  /** The capture's signal: parts are sent while it lasts. */
  signal: AbortSignal;
  /** Parts on their way at once (default 1); each holds a slot, taken only if free, beyond the first. */
  concurrency?: number;
}

/** A part read from the spool and sent, not yet taken into the upload. */
interface PartInFlight {
  part: PreparedPart;
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
    const size = this.deps.partSize;
    const parts: PartBody[] = [];
    for (let at = 0; at < upload.bytes; at += size) parts.push(this.part(at, Math.min(size, upload.bytes - at)));
    const taken =
      upload.key === this.key && upload.bytes === upload.partMd5s.length * size && (await this.deps.writer.resume(upload.uploadId, upload.partMd5s, parts).catch(() => false));
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
    if (this.committed - this.streamed < this.deps.partSize) return;
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
    const { slots, writer, logger } = this.deps;
    const size = this.deps.partSize;
    const concurrency = Math.max(1, this.deps.concurrency ?? 1);
    const window: PartInFlight[] = [];
    const send = (part: PartInFlight): Promise<unknown> =>
      writer.sendPart(part.part, signal).then(
        () => undefined,
        (error: unknown) => error ?? new Error('failed'),
      );
    const live = (): boolean => going() && this.broken === undefined && !signal.aborted;
    try {
      for (;;) {
        // Fill the window: the first slot may be waited for, more only if free (never wait holding one).
        while (live() && window.length < concurrency && end() - (this.streamed + window.length * size) >= size) {
          const slot = window.length === 0 ? await slots.take(signal) : slots.tryTake();
          if (!slot) break;
          const offset = this.streamed + window.length * size;
          let prepared: PreparedPart;
          try {
            prepared = await writer.prepare(this.part(offset, size), window.at(-1)?.part);
          } catch (error) {
            slots.give();
            throw error;
          }
          const part: PartInFlight = { part: prepared, sent: Promise.resolve() };
          part.sent = send(part);
          window.push(part);
        }
        const head = window[0];
        if (!head) return;
        let error = await head.sent;
        for (let failures = 1; error !== undefined; failures++) {
          if (signal.aborted || this.giveUpOn(error)) return;
          logger.warn({ err: error, key: writer.key, part: head.part.partNumber, failures }, 'uploading a log part failed; will send it again');
          await sleep(backoffDelay(this.deps.backoff, failures), signal);
          if (signal.aborted) return;
          error = await send(head);
        }
        window.shift();
        slots.give();
        writer.accept(head.part);
        this.streamed += size;
        this.onPart();
        if (!live() && window.length === 0) return;
      }
    } finally {
      // Parts still on their way are left to settle (S3 may keep them: they are sent again if needed), then their slots go back.
      for (const part of window) void part.sent.then(() => slots.give());
    }
  }

  /** sendParts up to `end` for the archive, which must get there: what stops it short is thrown. */
  private async sendPartsOrThrow(end: number, signal: AbortSignal): Promise<void> {
    const target = end - (end % this.deps.partSize);
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

  /** Spool bytes [start, start + length) as a part, read from the file whenever needed. */
  private part(start: number, length: number): PartBody {
    return fileRangeBody(this.deps.file, start, length);
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
      // The last piece (at most a part), read from the spool as the parts are.
      if (!(await this.deps.slots.take(signal))) throw signal.reason ?? new Error('aborted');
      try {
        return await this.deps.writer.complete(this.part(this.streamed, bytes - this.streamed), signal);
      } finally {
        this.deps.slots.give();
      }
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
  }
}
