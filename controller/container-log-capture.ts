/**
 * Capturing one container's log into a local spool file while it runs.
 *
 * Why follow instead of reading the log once the pod ended: the kubelet
 * removes a deleted pod's containers, and their logs, shortly after they
 * stop, finalizer or not. A pod deleted while running (dismiss,
 * activeDeadlineSeconds, eviction) would lose its logs if we waited; and
 * the kubelet rotates big logs, so a late read returns only the tail anyway.
 *
 * Why a spool file instead of streaming straight into S3: capturing must
 * keep up with the container, uploading may not (S3 down, slow, or the
 * bucket not configured yet). The spool decouples the two, so an S3 outage
 * longer than the kubelet's grace costs nothing.
 *
 * How reconnects avoid duplicates and gaps: the log is read with
 * `timestamps=true`; each line's timestamp is unique and increasing, so the
 * spool is only ever committed up to the end of a complete line, and a
 * reconnect truncates the spool to that point and asks for `sinceTime` =
 * that line's timestamp, dropping lines stamped at or before it. A line cut
 * by the disconnect is thus read again whole. Each resumed read must bring
 * the line stamped at the resume point again (timestamped-log.ts): if it
 * does not, the kubelet rotated or lost lines in between, and the instance
 * is recorded incomplete with that reason (what follows is still kept).
 *
 * How the end is proven: a follow ends when the kubelet sees the container
 * exit, which can be before the runtime wrote the container's last bytes
 * (a final line without newline is written only at exit). So the end of a
 * follow proves nothing. An instance is complete only after a plain read
 * (no follow) that began after the pod reported the instance terminated
 * reached its end; that read also brings a final line without a newline,
 * which is committed as it is.
 *
 * How a stale view cannot hold a capture forever: the capture acts on the
 * pod as the watch delivered it, which may lag or (issue 15) may have missed
 * a change. A follow that ended while that view says the container runs is
 * checked against the pod read afresh; and a follow that brings nothing for
 * `followCheckMs` (30 s by default) is checked likewise, and closed if its
 * instance has ended, so a follow the server keeps open past the container's
 * end costs at most that long before the closing read finishes the log.
 *
 * Restarts: each instance of the container gets its own spool. When an
 * instance is replaced before we read its end, the rest is read with
 * `previous=true` (which the kubelet keeps for exactly one instance back).
 * A read may be served by a later instance than the pod status said (it
 * restarted meanwhile): each read's bytes are held back until the read is
 * attributed to the spool's instance (instance-attribution.ts), and dropped
 * if it cannot be, so that one instance's bytes never land in another's spool.
 */
import { mkdir, open, rm, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { V1Pod } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { backoffDelay, sleep, type BackoffPolicy } from '../lib/kube/backoff.js';
import { isApiError, type KubeHttp } from '../lib/kube/http.js';
import { attributeRead, type ReadAttribution } from './instance-attribution.js';
import { containerView, exitCodeOf, mayRestart, podWillRunNothingMore, type ContainerView } from './pod-view.js';
import type { StreamedLog } from './streamed-log.js';
import { journalFile, JournalWriter, readJournal, type InstanceJournal, type UploadJournal } from './spool-journal.js';
import { LogFormatError, TimestampedLogParser, type ParsedChunk } from './timestamped-log.js';

/** Why a log is incomplete; each reason starts with its kind (`gone:`, `gap:`, `restarts:`, `unreadable:`, `failed:`), a metric label. */
const GONE = 'gone: the container log was gone (the pod was deleted and the node removed its containers) before it was read to the end';
const GAP = 'gap: the kubelet no longer had the lines after the last one read (the log was rotated or removed meanwhile)';

/** A follow silent this long is checked against the pod read afresh, and closed if its instance ended (see above). */
export const FOLLOW_CHECK_MS = 30_000;

/** Lines a closing read after a follow asks for first (readTail). */
const CLOSING_TAIL_LINES = 64;
/** The most such a read may bring before a read from the anchor is made instead (its buffer's bound). */
const CLOSING_TAIL_MAX_BYTES = 4 * 1024 * 1024;

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** One instance (restart) of the container and its spool. */
export class InstanceSpool {
  /** Bytes in the spool up to the end of the last complete line (or the final partial line once the container ended). */
  committed = 0;
  private written = 0;
  lastTimestamp: string | undefined;
  lastNanos: bigint | undefined;
  state: 'capturing' | 'complete' | 'incomplete' = 'capturing';
  /** Why the instance's log is incomplete (set with the state, or at a gap while capturing goes on). */
  incompleteReason: string | undefined;
  private handle: FileHandle | undefined;
  /** The upload of its whole parts while it runs (streamed-log.ts), for the instance captured as the current one. */
  streamer: StreamedLog | undefined;
  /** Its progress on disk beside the spool (spool-journal.ts), for a restarted controller to resume from. */
  journal: JournalWriter | undefined;

  constructor(
    readonly container: string,
    readonly restartCount: number,
    readonly file: string,
    /** The runtime's ID of the instance, when the pod status named it (a read is checked against it). */
    readonly containerID?: string,
  ) {}

  async open(): Promise<void> {
    this.handle = await open(this.file, 'w+');
  }

  /**
   * Takes up the spool as a journal left it: the bytes it names (anything
   * after them is dropped: it was written after the journal, and is read
   * again), and where the next read resumes. False when the spool is not there or shorter.
   */
  async resume(journal: InstanceJournal): Promise<boolean> {
    const handle = await open(this.file, 'r+').catch(() => undefined);
    if (!handle) return false;
    if ((await handle.stat()).size < journal.committed) {
      await handle.close();
      return false;
    }
    await handle.truncate(journal.committed);
    this.handle = handle;
    this.committed = this.written = journal.committed;
    this.lastTimestamp = journal.lastTimestamp;
    this.lastNanos = journal.lastNanos !== undefined ? BigInt(journal.lastNanos) : undefined;
    this.state = journal.state;
    this.incompleteReason = journal.incompleteReason;
    return true;
  }

  /** The journal's view of this instance. */
  snapshot(): InstanceJournal {
    const upload = this.streamer?.progress();
    return {
      container: this.container,
      restartCount: this.restartCount,
      committed: this.committed,
      ...(this.lastTimestamp !== undefined ? { lastTimestamp: this.lastTimestamp } : {}),
      ...(this.lastNanos !== undefined ? { lastNanos: this.lastNanos.toString() } : {}),
      state: this.state,
      ...(this.incompleteReason !== undefined ? { incompleteReason: this.incompleteReason } : {}),
      ...(upload ? { upload } : {}),
    };
  }

  /** Progress changed: the journal records it (soon; writes are coalesced). */
  record(): void {
    this.journal?.save(() => this.snapshot());
  }

  /** Drops bytes of a line that was cut off, before reading on. */
  async rewind(): Promise<void> {
    if (this.written !== this.committed) await this.handle!.truncate(this.committed);
    this.written = this.committed;
  }

  /**
   * Appends the content of one parsed chunk with a single write (a write per
   * line would make the capture crawl), then commits up to its last line end.
   */
  async append({ content, lastLine }: ParsedChunk): Promise<void> {
    const start = this.written;
    for (let at = 0; at < content.length; ) {
      const { bytesWritten } = await this.handle!.write(content, at, content.length - at, this.written);
      this.written += bytesWritten;
      at += bytesWritten;
    }
    if (lastLine) {
      this.committed = start + lastLine.end;
      this.lastTimestamp = lastLine.timestamp;
      this.lastNanos = lastLine.nanos;
      this.streamer?.grew(this.committed);
      this.record();
    }
  }

  /** Lines are missing before what is read next; the capture goes on, but the log can no longer be complete. */
  markGap(reason: string): void {
    this.incompleteReason ??= reason;
    this.record();
  }

  /**
   * The capture of the instance is over. `complete`: what was read is its
   * whole log, a last line without newline included (unless a gap was seen).
   */
  finish(state: 'complete' | 'incomplete', reason?: string): void {
    if (state === 'complete') {
      this.committed = this.written;
      this.streamer?.grew(this.committed);
    }
    if (state === 'incomplete') this.incompleteReason ??= reason ?? 'failed: the capture ended before the end of the log';
    this.state = this.incompleteReason === undefined ? 'complete' : 'incomplete';
    this.record();
  }

  async close(): Promise<void> {
    if (this.handle) {
      if (this.written !== this.committed) await this.handle.truncate(this.committed);
      await this.handle.close();
    }
    this.handle = undefined;
  }
}

export interface ContainerCaptureDeps {
  http: KubeHttp;
  namespace: string;
  podName: string;
  container: string;
  init: boolean;
  spoolDir: string;
  logger: Logger;
  backoff: BackoffPolicy;
  /** How long failed reads of a replaced instance's previous log are retried; 0: until the log is gone or the capture stops. */
  retryDeadlineMs: number;
  signal: AbortSignal;
  /** The pod as last seen, and whether it is gone from the API. */
  pod(): { pod: V1Pod; gone: boolean };
  /**
   * The pod read from the API now, not from the watch (undefined: it is gone), to attribute a read to its
   * instance or to see whether a follow's instance ended. It becomes what pod() returns until the watch brings a newer one.
   */
  freshPod(): Promise<V1Pod | undefined>;
  /** How long a follow may bring nothing before the pod is read afresh (default FOLLOW_CHECK_MS). */
  followCheckMs?: number;
  /** Resolves at the next change of the pod (or after `ms`, or on abort). */
  podChange(ms: number): Promise<void>;
  /** A streamed upload for the spool of the current instance (undefined: the log is uploaded whole at the end). */
  streamer?: (file: string) => StreamedLog | undefined;
  /** Aborts a journaled upload that no stream takes up (a standby capture, or an instance no longer current). */
  dropUpload?: (upload: UploadJournal) => Promise<void>;
}

export class ContainerLogCapture {
  /** Instances kept for the archive: the last one and the one before it. */
  readonly instances: InstanceSpool[] = [];
  /** Reads of replaced instances' previous logs under way (at most the one before the current: instances are capped at two). */
  private readonly replaced = new Set<Promise<void>>();
  private finishedFlag = false;
  readonly done: Promise<void>;

  constructor(private readonly deps: ContainerCaptureDeps) {
    this.done = this.run()
      .catch((error: unknown) => {
        if (!deps.signal.aborted) deps.logger.error({ err: error, container: deps.container }, 'log capture failed');
        const current = this.instances[this.instances.length - 1];
        if (current?.state === 'capturing') current.finish('incomplete', `failed: the capture failed: ${errorText(error)}`);
      })
      .then(async () => {
        while (this.replaced.size > 0) await Promise.all(this.replaced);
      })
      .finally(async () => {
        await Promise.all(this.instances.map((i) => i.close().catch(() => undefined)));
        this.finishedFlag = true;
      });
  }

  get container(): string {
    return this.deps.container;
  }

  /** Stops journaling (the spool is about to go). */
  async closeJournals(): Promise<void> {
    await Promise.all(this.instances.map((i) => i.journal?.close()));
  }

  get init(): boolean {
    return this.deps.init;
  }

  /** The capture ended: no more output can come, or the logs are gone. */
  get finished(): boolean {
    return this.finishedFlag;
  }

  get complete(): boolean {
    return this.instances.every((i) => i.state === 'complete');
  }

  private async run(): Promise<void> {
    const { signal, container } = this.deps;
    let current: InstanceSpool | undefined;
    let attempt = 0;
    while (!signal.aborted) {
      const { pod, gone } = this.deps.pod();
      const view = containerView(pod, container);
      if (!view?.everStarted) {
        if (gone || podWillRunNothingMore(pod)) return; // it never ran: no log to capture
        await this.waitForPod('the container has not started', current);
        continue;
      }
      // Between instances (crash-loop back-off) "the current log" and "the previous log" are ambiguous;
      // instances are only told apart while one runs or after the last one ended.
      const definite = view.running || view.terminated;
      if (current && view.restartCount > current.restartCount) {
        if (current.state === 'capturing') {
          if (!definite) {
            if (!gone && !podWillRunNothingMore(pod)) {
              await this.waitForPod('the next instance has not started', current);
              continue;
            }
            current.finish('incomplete', 'restarts: the container restarted before its log was read to the end, and the next instance did not start');
          } else this.finishReplaced(current, view.restartCount);
        }
        current = undefined;
      }
      if (!current) {
        if (!definite) {
          if (gone || podWillRunNothingMore(pod)) return;
          await this.waitForPod('no instance runs', current);
          continue;
        }
        // Started after the container had restarted: its previous instance's log is still on the node.
        if (this.instances.length === 0 && view.restartCount > 0) {
          this.finishReplaced(await this.newInstance(view.restartCount - 1, view.lastContainerID), view.restartCount);
        }
        current = await this.newInstance(view.restartCount, view.containerID, true);
      }
      if (current.state !== 'capturing') {
        if (gone || !mayRestart(pod, view, exitCodeOf(pod, container))) return;
        await this.waitForPod('the instance ended; it may restart', current);
        continue;
      }
      try {
        // Only a read begun after the pod reported this instance's end can prove it reached the end (see above).
        const closing = view.terminated && view.restartCount === current.restartCount;
        const read = closing && (await this.readTail(current)) ? 'proven' : await this.read(current, closing ? 'closing' : 'follow');
        if (read === 'replaced') {
          // A later instance served the read (the status we acted on was behind): nothing of it was kept. Once the
          // pod shows that instance, this one is read to its end as previous, from its own anchor.
          attempt++;
          this.deps.logger.info({ container, restartCount: current.restartCount }, 'a later container instance served the read; dropped it, to read this one as previous');
          await this.deps.podChange(backoffDelay(this.deps.backoff, attempt));
          continue;
        }
        attempt = 0;
        if (closing) {
          current.finish('complete');
          continue;
        }
        // A follow ends when the instance ends; if the pod says so, the closing read comes next.
        if (instanceEnded(containerView(this.deps.pod().pod, container), current)) continue;
        // The pod as watched does not say so: it may lag, or (issue 15) be a change behind for good. Ask the API.
        if (await this.endedPerApi(current)) continue;
        // The stream ended but the pod does not say the container did (yet): look again shortly.
        attempt++;
        await this.deps.podChange(backoffDelay(this.deps.backoff, attempt));
      } catch (error) {
        if (signal.aborted) return;
        if (isApiError(error, 404)) {
          // The pod or its containers are gone from the node: whatever we have is all there is.
          this.deps.logger.warn({ container, restartCount: current.restartCount }, 'container log is gone before it was read to the end');
          current.finish('incomplete', GONE);
          return;
        }
        if (error instanceof LogFormatError) {
          // Not the kubelet's log format: reading again would fail the same way. Keep what we have.
          this.deps.logger.error({ err: error, container }, 'cannot parse the container log; archiving what was read');
          current.finish('incomplete', `unreadable: the log could not be parsed: ${error.message}`);
          return;
        }
        attempt++;
        const level = isApiError(error, 400) ? 'debug' : 'warn';
        this.deps.logger[level]({ err: error, container, attempt }, 'reading the container log failed; retrying');
        await this.deps.podChange(backoffDelay(this.deps.backoff, attempt));
      }
    }
  }

  /** Waits for the next change of the pod (or a minute), saying why at debug level. */
  private async waitForPod(why: string, current: InstanceSpool | undefined): Promise<void> {
    this.deps.logger.debug({ container: this.deps.container, restartCount: current?.restartCount, why }, 'waiting for the pod to change');
    await this.deps.podChange(60_000);
  }

  /**
   * Whether the pod read afresh shows the instance ended (and, as freshPod
   * makes it the view, pod() shows it too). False when the read fails: the
   * caller waits and tries again as before.
   */
  private async endedPerApi(spool: InstanceSpool): Promise<boolean> {
    const fresh = await this.deps.freshPod().catch(() => undefined);
    if (!fresh || !instanceEnded(containerView(fresh, this.deps.container), spool)) return false;
    return instanceEnded(containerView(this.deps.pod().pod, this.deps.container), spool);
  }

  /**
   * While a follow brings nothing, the pod is read afresh every
   * `followCheckMs`; once it shows the instance ended, `close` is called (the
   * follow is cut, and the closing read takes over). Stopped with `stop`.
   */
  private watchFollow(spool: InstanceSpool, close: () => void): { fed: () => void; stop: () => void } {
    const every = this.deps.followCheckMs ?? FOLLOW_CHECK_MS;
    let stopped = false;
    let timer: NodeJS.Timeout | undefined;
    // Bytes only move this mark (a timer per chunk would cost more than the chunk); the timer looks at it.
    let lastFed = Date.now();
    const arm = (ms = every): void => {
      if (!stopped) timer = setTimeout(check, ms);
    };
    const check = (): void => {
      const silentFor = Date.now() - lastFed;
      if (silentFor < every) return arm(every - silentFor);
      void this.endedPerApi(spool).then((ended) => {
        if (stopped) return;
        if (!ended) return arm();
        this.deps.logger.warn({ container: this.deps.container, restartCount: spool.restartCount, silentMs: every }, 'the follow stayed open after its container ended; closing it to read the end');
        stopped = true;
        close();
      });
    };
    arm();
    return {
      fed: () => {
        lastFed = Date.now();
      },
      stop: () => {
        stopped = true;
        clearTimeout(timer);
      },
    };
  }

  private async newInstance(restartCount: number, containerID: string | undefined, current = false): Promise<InstanceSpool> {
    await mkdir(this.deps.spoolDir, { recursive: true });
    const { spoolDir, container } = this.deps;
    const spool = new InstanceSpool(container, restartCount, path.join(spoolDir, `${container}.${restartCount}.log`), containerID);
    // A controller before this one (a restart in the same pod) may have captured part of it already.
    const journal = await readJournal(spoolDir, container, restartCount);
    const resumed = journal !== undefined && (await spool.resume(journal));
    if (!resumed) await spool.open();
    spool.journal = new JournalWriter(journalFile(spoolDir, container, restartCount));
    // The instance before becomes the previous one: its archive key is another, so its stream goes (it is uploaded whole).
    for (const older of this.instances) void older.streamer?.abandon();
    if (current) spool.streamer = this.deps.streamer?.(spool.file);
    if (spool.streamer) {
      spool.streamer.onPart = () => spool.record();
      if (resumed && journal.upload && !(await spool.streamer.resume(journal.upload))) {
        this.deps.logger.info({ container, restartCount }, 'the journaled upload could not be taken up; streaming afresh');
      }
      spool.streamer.grew(spool.committed);
    } else if (resumed && journal.upload) {
      // Nothing will take it up (no replica but this one knows it): aborted now rather than left to the bucket's lifecycle rule.
      await this.deps.dropUpload?.(journal.upload).catch((error: unknown) => this.deps.logger.warn({ err: error, container, restartCount }, 'could not abort a journaled upload'));
    }
    if (resumed) this.deps.logger.info({ container, restartCount, bytes: spool.committed, state: spool.state }, 'resuming the capture from the journal');
    spool.record();
    this.instances.push(spool);
    while (this.instances.length > 2) {
      // The kubelet keeps one previous instance; so does the archive layout.
      const dropped = this.instances.shift()!;
      this.deps.logger.warn({ container: this.deps.container, restartCount: dropped.restartCount }, 'dropping the log of an older container instance');
      await dropped.close();
      await dropped.streamer?.abandon();
      await dropped.journal?.close(true);
      await rm(dropped.file, { force: true });
    }
    return spool;
  }

  /**
   * The instance was replaced while we were not at its end: read the rest
   * from the kubelet's previous log, beside the capture of the current
   * instance (which goes on meanwhile). Transient failures (5xx, 429, resets,
   * timeouts) are read again with back-off, each time from where the spool
   * ends, until `retryDeadlineMs` passes; a log that is definitively missing
   * (the pod gone: 404; the kubelet no longer has the previous container:
   * 400 "not found"; or a later restart replaced it) makes the instance
   * incomplete at once, with the reason: lost, never a complete short log.
   */
  private finishReplaced(spool: InstanceSpool, currentRestartCount: number): void {
    const task = this.readReplaced(spool, currentRestartCount).catch((error: unknown) => {
      if (spool.state === 'capturing') spool.finish('incomplete', `failed: the rest of the replaced instance could not be read: ${errorText(error)}`);
    });
    this.replaced.add(task);
    void task.finally(() => this.replaced.delete(task));
  }

  private async readReplaced(spool: InstanceSpool, currentRestartCount: number): Promise<void> {
    const { signal, container, logger, backoff, retryDeadlineMs } = this.deps;
    if (spool.state !== 'capturing') return; // resumed from a journal that saw its end
    if (currentRestartCount !== spool.restartCount + 1) {
      spool.finish('incomplete', `restarts: the container restarted ${currentRestartCount - spool.restartCount} times before this instance's log was read to the end; the kubelet keeps only the last one`);
      return;
    }
    const started = Date.now();
    for (let attempt = 1; ; attempt++) {
      try {
        if ((await this.read(spool, 'previous')) === 'replaced') {
          spool.finish('incomplete', `restarts: the container restarted again before this instance's log was read to the end; the kubelet keeps only the last one`);
          return;
        }
        spool.finish('complete');
        return;
      } catch (error) {
        // Stopped, or dropped meanwhile for a newer instance (its file went with it).
        if (signal.aborted || !this.instances.includes(spool)) return;
        if (error instanceof LogFormatError) {
          spool.finish('incomplete', `unreadable: the log could not be parsed: ${error.message}`);
          return;
        }
        const missing = previousLogMissing(error);
        if (missing !== undefined) {
          logger.warn({ err: error, container, restartCount: spool.restartCount }, 'the replaced container instance\'s log is gone');
          spool.finish('incomplete', missing);
          return;
        }
        const waited = Date.now() - started;
        if (!isTransient(error) || (retryDeadlineMs > 0 && waited >= retryDeadlineMs)) {
          logger.warn({ err: error, container, attempt }, 'could not read the rest of a replaced container instance');
          spool.finish('incomplete', `failed: the rest of the replaced instance could not be read (${attempt} attempts in ${Math.round(waited / 1000)} s): ${errorText(error)}`);
          return;
        }
        logger.debug({ err: error, container, attempt }, 'reading a replaced instance\'s log failed; retrying');
        await sleep(backoffDelay(backoff, attempt), signal);
        if (signal.aborted) return;
        // "previous" names the instance before the newest: after another restart it is no longer this one.
        const now = containerView(this.deps.pod().pod, container);
        if (now && now.restartCount !== spool.restartCount + 1) {
          spool.finish('incomplete', `restarts: the container restarted again before this instance's log was read to the end; the kubelet keeps only the last one`);
          return;
        }
      }
    }
  }

  /**
   * The closing read made cheap: after a follow the spool lacks at most the
   * last few lines (a last one without newline, usually), so only the
   * log's last lines are asked for (`tailLines`, which the kubelet finds from
   * the file's end), where `sinceTime` would make it scan the whole log from
   * its start (seconds for a GiB). It counts only if it reaches back to the
   * line the spool ends with (the anchor, as for any resumed read); else,
   * or when the tail is bigger than its bound, false: the caller reads from
   * `sinceTime`. Nothing is written to the spool before the anchor is seen
   * (which also proves the tail is this instance's: instance-attribution.ts).
   */
  private async readTail(spool: InstanceSpool): Promise<boolean> {
    if (spool.lastNanos === undefined) return false;
    await spool.rewind();
    const response = await this.deps.http.stream({
      path: `/api/v1/namespaces/${this.deps.namespace}/pods/${this.deps.podName}/log`,
      query: { container: this.deps.container, timestamps: true, tailLines: CLOSING_TAIL_LINES },
      signal: this.deps.signal,
    });
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of response) {
      size += (chunk as Buffer).length;
      if (size > CLOSING_TAIL_MAX_BYTES) {
        response.destroy();
        return false;
      }
      chunks.push(chunk as Buffer);
    }
    const parser = new TimestampedLogParser(spool.lastNanos);
    let parsed: ParsedChunk;
    try {
      parsed = parser.push(Buffer.concat(chunks));
    } catch (error) {
      // The tail may begin inside a line the runtime stored in pieces (no timestamp there): read from the anchor instead.
      if (error instanceof LogFormatError) return false;
      throw error;
    }
    if (!parser.anchored) return false;
    await spool.append(parsed);
    return true;
  }

  /**
   * One read of the log from where the spool ends, resolving when the server
   * ends it: `follow` while the instance runs, `closing` (plain) once it ended,
   * `previous` for an instance that was replaced. Its bytes are appended only
   * once the read is attributed to the spool's instance (at its first bytes,
   * or at its end if it brought none); `replaced` when it could not be, and
   * then nothing of it was appended.
   */
  private async read(spool: InstanceSpool, mode: 'follow' | 'closing' | 'previous'): Promise<ReadAttribution> {
    const attribution = await this.readOnce(spool, mode);
    this.deps.logger.debug({ container: this.deps.container, restartCount: spool.restartCount, mode, bytes: spool.committed, attribution }, 'log read ended');
    return attribution;
  }

  private async readOnce(spool: InstanceSpool, mode: 'follow' | 'closing' | 'previous'): Promise<ReadAttribution> {
    this.deps.logger.debug({ container: this.deps.container, restartCount: spool.restartCount, mode, from: spool.committed, sinceTime: spool.lastTimestamp }, 'reading the log');
    await spool.rewind();
    const response = await this.deps.http.stream({
      path: `/api/v1/namespaces/${this.deps.namespace}/pods/${this.deps.podName}/log`,
      query: {
        container: this.deps.container,
        timestamps: true,
        ...(mode === 'previous' ? { previous: true } : mode === 'follow' ? { follow: true } : {}),
        ...(spool.lastTimestamp ? { sinceTime: spool.lastTimestamp } : {}),
      },
      signal: this.deps.signal,
    });
    const parser = new TimestampedLogParser(spool.lastNanos);
    const anchored = (): boolean => spool.lastNanos !== undefined && parser.anchored;
    // One read serves one instance's log file: once its first bytes are attributed, so is the rest of it.
    let attributed = false;
    let gapSeen = false;
    // A follow the server keeps open after its container ended is cut, as if it had ended (the closing read follows).
    let cut = false;
    const watchdog =
      mode === 'follow'
        ? this.watchFollow(spool, () => {
            cut = true;
            response.destroy();
          })
        : undefined;
    try {
      for await (const chunk of response) {
        watchdog?.fed();
        // Valid until the next push: it is written (or dropped) before the next chunk is taken.
        const parsed = parser.push(chunk as Buffer);
        if (!attributed) {
          if (parsed.content.length === 0 && !parser.gap) continue; // still before the anchor: nothing to attribute yet
          if ((await this.attribute(spool, mode, anchored())) === 'replaced') {
            response.destroy();
            return 'replaced';
          }
          attributed = true;
        }
        if (parser.gap && !gapSeen) {
          gapSeen = true;
          spool.markGap(GAP);
        }
        await spool.append(parsed);
      }
    } catch (error) {
      if (!cut) throw error;
    } finally {
      watchdog?.stop();
    }
    // An empty closing or previous read ends the instance's log (complete, or a gap): it must be the instance's too.
    if (!attributed && mode !== 'follow' && (await this.attribute(spool, mode, anchored())) === 'replaced') return 'replaced';
    // Not even the line we stopped at came back: the kubelet no longer has the file that held it.
    if (!parser.anchored && !parser.gap && mode !== 'follow') spool.markGap(GAP);
    return 'proven';
  }

  /** Whether a read that brought `anchored` served the spool's instance; the pod is read afresh only when its content cannot tell. */
  private async attribute(spool: InstanceSpool, mode: 'follow' | 'closing' | 'previous', anchored: boolean): Promise<ReadAttribution> {
    const instance = { restartCount: spool.restartCount, ...(spool.containerID !== undefined ? { containerID: spool.containerID } : {}) };
    const read = { mode: mode === 'previous' ? ('previous' as const) : ('current' as const), instance, anchored };
    if (anchored) return attributeRead({ ...read, after: undefined });
    const pod = await this.deps.freshPod();
    const after: ContainerView | undefined = pod ? containerView(pod, this.deps.container) : undefined;
    return attributeRead({ ...read, after });
  }
}

/** Whether the container as seen shows the spool's instance ended: replaced by a later one, or terminated. */
function instanceEnded(view: ContainerView | undefined, spool: InstanceSpool): boolean {
  return view !== undefined && (view.restartCount > spool.restartCount || view.terminated);
}

/**
 * Why a failed read of a previous log means the log is gone for good
 * (undefined: it may come back): the pod is gone (404), or the kubelet has
 * no previous container (400 "previous terminated container … not found").
 */
export function previousLogMissing(error: unknown): string | undefined {
  if (isApiError(error, 404)) return GONE;
  if (isApiError(error, 400) && /not found/i.test(error.message)) return `gone: the kubelet no longer had the replaced instance's log (${error.message})`;
  return undefined;
}

/** A failure worth another try: the server or the network, not the request. */
export function isTransient(error: unknown): boolean {
  if (isApiError(error)) return error.code >= 500 || error.code === 429 || error.code === 408;
  return !(error instanceof LogFormatError);
}

/** The kind of an incomplete reason (the word before its colon), a bounded metric label. */
export function incompleteKind(reason: string): string {
  const kind = reason.slice(0, reason.indexOf(':'));
  return ['gone', 'gap', 'restarts', 'unreadable'].includes(kind) ? kind : 'failed';
}
