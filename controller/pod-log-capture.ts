/**
 * Capturing all containers of one pod (see container-log-capture.ts for how
 * and why): one capture per container, woken by every change of the pod,
 * spooled under a directory of the pod's own that goes when the pod's
 * archive is done.
 */
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import type { V1Pod } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { BackoffPolicy } from '../lib/kube/backoff.js';
import { sleep } from '../lib/kube/backoff.js';
import { isApiError, type KubeHttp } from '../lib/kube/http.js';
import { fromWire } from '../lib/kube/objects.js';
import { ContainerLogCapture } from './container-log-capture.js';
import type { CapturedLog } from './log-parts.js';
import type { StreamedLog } from './streamed-log.js';
import type { UploadJournal } from './spool-journal.js';
import type { CaptureState } from './plan.js';
import { containerViews } from './pod-view.js';

export interface PodCaptureOptions {
  http: KubeHttp;
  spoolRoot: string;
  logger: Logger;
  backoff: BackoffPolicy;
  /** How long failed reads of a replaced instance's previous log are retried (0: until it is gone or the capture stops). */
  retryDeadlineMs: number;
  /** Called when the capture as a whole has finished (so the pod is looked at again). */
  onFinished: () => void;
  /** A spool directory an earlier run of this replica left for this pod (its journals are resumed). */
  resumeDir?: string;
  /** Starts the streamed upload of a container's current instance (undefined: not streamed; see streamed-log.ts). */
  streamer?: (container: string, file: string, signal: AbortSignal) => StreamedLog | undefined;
  /** Aborts a journaled upload no stream takes up. */
  dropUpload?: (upload: UploadJournal) => Promise<void>;
}

export class PodLogCapture {
  readonly uid: string;
  private current: V1Pod;
  /** The pod the cache last handed this capture (constructor, update), to tell whether the cache holds one it missed (sync). */
  private delivered: V1Pod;
  private gone = false;
  private readonly abort = new AbortController();
  private wake: () => void = () => undefined;
  private changed: Promise<void>;
  private readonly captures: ContainerLogCapture[];
  private readonly dir: string;
  private readonly all: Promise<void>;

  constructor(pod: V1Pod, options: PodCaptureOptions) {
    this.current = pod;
    this.delivered = pod;
    this.uid = pod.metadata?.uid ?? '';
    // A directory of this capture's own: a capture of the same pod by a later term (leadership lost and won back)
    // must not share files with one still being disposed of, which removes its directory.
    this.dir = options.resumeDir ?? path.join(options.spoolRoot, `${this.uid || `${pod.metadata?.namespace}-${pod.metadata?.name}`}.${randomBytes(4).toString('hex')}`);
    this.changed = this.nextChange();
    const logger = options.logger.child({ pod: pod.metadata?.name, namespace: pod.metadata?.namespace });
    this.captures = containerViews(pod).map(
      (c) =>
        new ContainerLogCapture({
          http: options.http,
          namespace: pod.metadata?.namespace ?? '',
          podName: pod.metadata?.name ?? '',
          container: c.name,
          init: c.init,
          spoolDir: this.dir,
          logger,
          backoff: options.backoff,
          retryDeadlineMs: options.retryDeadlineMs,
          signal: this.abort.signal,
          pod: () => ({ pod: this.current, gone: this.gone }),
          freshPod: () => this.read(options.http),
          podChange: (ms) => Promise.race([this.changed, sleep(ms, this.abort.signal)]),
          streamer: (file) => options.streamer?.(c.name, file, this.abort.signal),
          dropUpload: options.dropUpload,
        }),
    );
    this.all = Promise.all(this.captures.map((c) => c.done)).then(() => {
      if (!this.abort.signal.aborted) options.onFinished();
    });
  }

  private nextChange(): Promise<void> {
    return new Promise((resolve) => {
      this.wake = resolve;
    });
  }

  /**
   * The pod from the API itself (the watch may lag behind it), undefined once
   * it is gone. It also becomes the pod the captures look at, until the cache
   * hands on a newer one: the captures never act on an older view than one
   * they read. (No wake-up: the containers' captures would wake each other
   * into reading it again and again.)
   */
  private async read(http: KubeHttp): Promise<V1Pod | undefined> {
    const { namespace, name } = this.current.metadata ?? {};
    try {
      const raw = await http.request<unknown>({ path: `/api/v1/namespaces/${namespace}/pods/${name}`, signal: this.abort.signal });
      const pod = fromWire<V1Pod>(raw, 'V1Pod');
      if (!this.gone && pod.metadata?.uid === this.uid) this.current = pod;
      return pod;
    } catch (error) {
      if (isApiError(error, 404)) return undefined;
      throw error;
    }
  }

  /** The pod as last seen (its final state once it is gone). */
  get pod(): V1Pod {
    return this.current;
  }

  update(pod: V1Pod): void {
    this.current = pod;
    this.delivered = pod;
    const wake = this.wake;
    this.changed = this.nextChange();
    wake();
  }

  /**
   * Level-triggered: hands the capture the cache's pod unless it is the one
   * the capture was last given. A change the cache saw while no capture
   * existed yet (the reconcile that starts it still held the pod it read
   * before its awaits) would otherwise never reach the capture, which then
   * follows a container it believes runs for as long as the pod does not
   * change again (issue 15, j0059).
   */
  sync(pod: V1Pod): void {
    if (pod.metadata?.uid !== this.uid || this.gone) return;
    if (pod === this.delivered || (pod.metadata?.resourceVersion !== undefined && pod.metadata.resourceVersion === this.delivered.metadata?.resourceVersion)) return;
    this.update(pod);
  }

  /** The pod is gone from the API: captures read what the node still has, then stop. */
  podGone(): void {
    this.gone = true;
    this.update(this.current);
  }

  get state(): CaptureState {
    if (!this.captures.every((c) => c.finished)) return 'capturing';
    return this.captures.every((c) => c.complete) ? 'complete' : 'incomplete';
  }

  /** The spooled logs in archive order: init containers, then containers; a previous instance before the last. */
  logs(): CapturedLog[] {
    return this.captures.flatMap((capture) => {
      const instances = capture.instances;
      return instances.map((instance, i) => ({
        container: capture.container,
        init: capture.init,
        previous: i < instances.length - 1,
        file: instance.file,
        bytes: instance.committed,
        ...(i === instances.length - 1 && instance.streamer ? { streamed: instance.streamer } : {}),
        complete: instance.state === 'complete',
        ...(instance.incompleteReason !== undefined ? { incompleteReason: instance.incompleteReason } : {}),
      }));
    });
  }

  /**
   * Stops reading but keeps the spool and its journals, and returns their
   * directory (leadership lost): if this replica leads again, the pod's next
   * capture resumes from them (as after a restart) instead of reading again
   * from the kubelet what it may have removed meanwhile. The journals are
   * written out before the reads stop, so they never say more than the spool holds.
   */
  async suspend(): Promise<string> {
    await Promise.all(this.captures.map((c) => c.closeJournals()));
    this.abort.abort();
    await this.all;
    // Streams are abandoned as on dispose: the resumed capture finds their uploads gone and streams afresh from the spool.
    await Promise.all(this.captures.flatMap((c) => c.instances.map((i) => i.streamer?.abandon())));
    return this.dir;
  }

  /** Stops reading and removes the spool. */
  async dispose(): Promise<void> {
    this.abort.abort();
    await this.all;
    // Completed streams are left alone; the others' parts are dropped.
    await Promise.all(this.captures.flatMap((c) => c.instances.map((i) => i.streamer?.abandon())));
    await Promise.all(this.captures.map((c) => c.closeJournals()));
    await rm(this.dir, { recursive: true, force: true });
  }
}
