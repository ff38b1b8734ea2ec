/**
 * The reconciler: for one pod key, looks at the pod's current state (never
 * at the event that woke it), decides with planPod (plan.ts) and carries the
 * plan out: add the finalizer, start or drop the log capture, archive, hold,
 * give up. It is the one place that removes the log finalizer
 * (releaseFinalizer), and it does so only for a pod marked archived after a
 * verified archive, or at the operator's give-up deadline.
 */
import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import type { V1Pod } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { isManagedPod } from '../lib/contract.js';
import type { KubeHttp } from '../lib/kube/http.js';
import { archivePod, LOG_CONTENT_TYPE, type ArchiveContext, type ArchiveOutcome } from './archive-pod.js';
import { incompleteKind } from './container-log-capture.js';
import { EVENT_REASONS, type PodEvents } from './events.js';
import { endedBeforeDeletion, observeEnding } from './job-outcome.js';
import type { ControllerMetrics } from './metrics.js';
import { planPod, podFacts } from './plan.js';
import { podKey, type JobInfo, type PodCache } from './pod-cache.js';
import type { PodFinalizers } from './pod-finalizer.js';
import { PodLogCapture, type PodCaptureOptions } from './pod-log-capture.js';
import { PartSlots, StreamedLog } from './streamed-log.js';
import { readJournals, type UploadJournal } from './spool-journal.js';
import { containerLogKey } from '../lib/archive/layout.js';
import { jobRefOf } from './pod-view.js';
import type { ControllerSettings } from './settings.js';

export interface ReconcilerDeps {
  cache: PodCache;
  http: KubeHttp;
  finalizers: PodFinalizers;
  events: PodEvents;
  metrics: ControllerMetrics;
  /** Undefined while the bucket is not configured. */
  archive: ArchiveContext | undefined;
  settings: ControllerSettings;
  spoolRoot: () => string;
  logger: Logger;
  enqueue: (key: string) => void;
  enqueueAfter: (key: string, ms: number) => void;
}

const capturePodUid = (pod: V1Pod): string => pod.metadata?.uid ?? '';

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export class Reconciler {
  /** Bound: one capture per pod holding our attention; dropped once archived, ignored or given up. */
  private readonly captures = new Map<string, PodLogCapture>();
  /**
   * Per managed pod uid, whether watching it showed it ended before it was deleted (job-outcome.ts).
   * Kept by every replica, leader or not, so a new leader knows. Bound: one per managed pod in the cache; dropped with it.
   */
  private readonly endings = new Map<string, boolean>();
  /**
   * Slots for parts of logs streamed while they run (streamed-log.ts), shared by all captures:
   * at most workers × uploadQueueSize parts on their way at once, however many captures run.
   */
  private readonly parts: PartSlots;

  /**
   * Spool directories an earlier run of this replica left (a restart in the same pod), or its captures
   * stopped when leadership was lost, by pod uid: taken up by the pod's next capture, or swept (uploads
   * aborted, files removed) once the pod is gone or archived. Bound: one per pod this replica held;
   * swept for pods gone from the cache each time it starts leading.
   */
  private readonly leftovers = new Map<string, string>();

  constructor(private readonly deps: ReconcilerDeps) {
    this.parts = new PartSlots(deps.settings.workers * deps.settings.uploadQueueSize);
  }

  /** Pods whose logs are being captured (or were, and await their archive). */
  get captureCount(): number {
    return this.captures.size;
  }

  /** Takes note of the spool directories found at start (`<pod uid>.<suffix>`); for each pod only one is resumed. */
  async findLeftovers(): Promise<void> {
    const root = this.deps.spoolRoot();
    for (const name of await readdir(root).catch(() => [] as string[])) {
      const uid = name.slice(0, name.lastIndexOf('.'));
      const dir = path.join(root, name);
      if (uid && !this.leftovers.has(uid)) this.leftovers.set(uid, dir);
      else await rm(dir, { recursive: true, force: true });
    }
  }

  /** Leftovers of pods that are gone (or need no capture any more): their uploads aborted, their files removed. */
  async sweepLeftovers(uids: Iterable<string> = [...this.leftovers.keys()].filter((uid) => !this.deps.cache.allPods().some((p) => p.metadata?.uid === uid))): Promise<void> {
    for (const uid of uids) {
      const dir = this.leftovers.get(uid);
      if (dir === undefined) continue;
      this.leftovers.delete(uid);
      await this.removeSpool(dir);
      this.deps.logger.info({ uid, dir }, 'removed the spool an earlier run left for a pod that needs it no more');
    }
  }

  /** A spool directory that is needed no more: the uploads its journals name are aborted, its files removed. */
  private async removeSpool(dir: string): Promise<void> {
    for (const journal of await readJournals(dir)) if (journal.upload) await this.dropUpload(journal.upload);
    await rm(dir, { recursive: true, force: true });
  }

  private readonly dropUpload = async (upload: UploadJournal): Promise<void> => {
    await this.deps.archive?.s3.multipartWriter(upload.key, LOG_CONTENT_TYPE).abortUpload(upload.uploadId);
  };

  /**
   * Standby capture, while another replica leads: every pod the leader would capture is captured here too, into this
   * replica's spool, with nothing uploaded. If the leader dies (SIGKILL, node loss) after a job ended, this replica,
   * taking over a lease duration later, already holds its logs: by then the kubelet may have removed the containers of
   * a deleted pod, and a leader in another pod has no access to the old one's spool. Level-triggered like reconcile:
   * the capture is kept while the plan for the pod as it is now says to capture, and dropped (spool removed) once it
   * does not (archived by the leader, not ours) or the pod is gone (its finalizer released by the leader).
   */
  keepStandby(type: 'ADDED' | 'MODIFIED' | 'DELETED', key: string, pod: V1Pod): void {
    const held = this.captures.get(key);
    if (held && (type === 'DELETED' || held.uid !== pod.metadata?.uid)) void this.dropStandby(key);
    if (type === 'DELETED') return;
    const capture = this.captures.get(key);
    if (!planPod(this.factsOf(pod, capture, false)).capture) {
      if (capture) void this.dropStandby(key);
      return;
    }
    if (!capture) this.startCapture(key, pod, 'standby');
  }

  private async dropStandby(key: string): Promise<void> {
    const capture = this.captures.get(key);
    if (!capture) return;
    this.captures.delete(key);
    if (this.deps.cache.pod(key)?.metadata?.uid !== capture.uid) this.endings.delete(capture.uid);
    try {
      await this.removeSpool(await capture.suspend());
    } catch (error) {
      this.deps.logger.warn({ err: error, pod: key }, 'could not remove the spool of a standby capture');
    }
  }

  /** The streamed upload of a container's current instance, in the per-container layout (the Python one is one file per pod). */
  private streamerFor(pod: V1Pod): PodCaptureOptions['streamer'] {
    const ctx = this.deps.archive;
    if (!ctx || ctx.layout !== 'per-container') return undefined;
    const namespace = pod.metadata?.namespace ?? '';
    const podName = pod.metadata?.name ?? '';
    const jobName = jobRefOf(pod)?.name ?? podName;
    return (container, file, signal) =>
      new StreamedLog({
        writer: ctx.s3.multipartWriter(containerLogKey(ctx.prefix, namespace, jobName, podName, container), LOG_CONTENT_TYPE),
        file,
        partSize: this.deps.settings.partSizeBytes,
        slots: this.parts,
        backoff: this.deps.settings.logBackoff,
        logger: this.deps.logger,
        signal,
        concurrency: this.deps.settings.uploadQueueSize,
      });
  }

  /** Keeps the capture of a pod up to date; true when the pod should be reconciled. */
  podChanged(type: 'ADDED' | 'MODIFIED' | 'DELETED', key: string, pod: V1Pod): boolean {
    const uid = pod.metadata?.uid ?? '';
    const managed = isManagedPod(pod.metadata, this.deps.settings.jobNamePrefix);
    const capture = this.captures.get(key);
    // A pod gone with its capture held is archived after this: its ending is dropped with the capture.
    if (type === 'DELETED') {
      if (capture?.uid !== uid) this.endings.delete(uid);
      // Gone from the API: its finalizer was released, so what a lost term of this replica spooled for it is needed no more.
      if (capture?.uid !== uid && this.leftovers.has(uid)) {
        void this.sweepLeftovers([uid]).catch((error: unknown) => this.deps.logger.warn({ err: error, uid }, 'could not remove the spool of a pod that is gone'));
      }
    } else if (managed) {
      const ending = observeEnding(pod, this.endings.get(uid));
      if (ending !== undefined) this.endings.set(uid, ending);
    }
    if (capture && capture.uid === pod.metadata?.uid) {
      if (type === 'DELETED') capture.podGone();
      else capture.update(pod);
    }
    return capture !== undefined || managed;
  }

  /**
   * Stops every capture (leadership ended, or shutdown) but keeps what it spooled as a leftover: when
   * this replica leads again (leases are lost under API outages and load), the next capture of the pod
   * resumes from it. Removing it made every lost lease re-read every log from the kubelet, which by then
   * may have removed the containers of a deleted pod (the chaos run's 0-byte "gone" logs).
   */
  async disposeCaptures(): Promise<void> {
    const all = [...this.captures.values()];
    this.captures.clear();
    for (const capture of all) if (!this.deps.cache.pod(podKey(capture.pod))) this.endings.delete(capture.uid);
    await Promise.all(
      all.map(async (capture) => {
        const dir = await capture.suspend();
        const earlier = this.leftovers.get(capture.uid);
        if (earlier !== undefined && earlier !== dir) await rm(earlier, { recursive: true, force: true });
        if (capture.uid) this.leftovers.set(capture.uid, dir);
        else await rm(dir, { recursive: true, force: true });
      }),
    );
  }

  async reconcile(key: string, signal: AbortSignal): Promise<void> {
    const { cache, settings } = this.deps;
    const pod = cache.pod(key);
    const held = this.captures.get(key);
    if (held && (!pod || held.uid !== pod.metadata?.uid)) {
      await this.archiveOrphan(key, held, signal);
      // A pod of the same name replaced it: the old capture is archived first (its end re-queues the key).
      if (this.captures.has(key)) return;
    }
    if (!pod) return;
    // The capture first: it needs no API call, and each call below can fail (and be retried with back-off) for as long
    // as the API server is unwell, while the kubelet may remove a deleted pod's containers, and its log with them.
    this.ensureCapture(key, pod);
    const jobInfo = await cache.jobOf(pod, signal);
    let capture = this.captures.get(key);
    const plan = planPod(this.factsOf(pod, capture, jobInfo.settled));
    if (plan.addFinalizer) await this.deps.finalizers.add(pod, signal);
    if (plan.capture && !capture) capture = this.startCapture(key, pod, 'leading');
    if (capture) {
      // Level-triggered: the capture looks at the cache's pod as it is now. A change that came while this reconcile
      // awaited (before its capture existed to be told) or that the capture otherwise missed reaches it here; the
      // change itself re-queued the key, so this runs again after it.
      const latest = cache.pod(key);
      if (latest) capture.sync(latest);
    }
    const action = plan.action;
    switch (action.kind) {
      case 'ignore':
        await this.dropCapture(key);
        await this.sweepLeftovers([pod.metadata?.uid ?? '']);
        return;
      case 'wait':
        if (action.recheckAfterMs !== undefined) this.deps.enqueueAfter(key, action.recheckAfterMs);
        return;
      case 'hold':
        this.deps.events.emit(
          pod,
          'Warning',
          EVENT_REASONS.notConfigured,
          `The log archive is not configured (${settings.missingVariables.join(', ')} not set); the pod keeps its log finalizer until it is.`,
        );
        if (action.recheckAfterMs !== undefined) this.deps.enqueueAfter(key, action.recheckAfterMs);
        return;
      case 'release':
        await this.releaseFinalizer(key, pod, 'archived', signal);
        await this.sweepLeftovers([pod.metadata?.uid ?? '']);
        return;
      case 'give-up':
        await this.releaseFinalizer(key, pod, 'gave-up', signal);
        this.deps.metrics.archives.inc({ result: 'gave_up' });
        this.deps.events.emit(pod, 'Warning', EVENT_REASONS.gaveUp, `Gave up archiving the logs after ${action.heldSeconds} s; the finalizer was removed without them.`);
        this.deps.logger.error({ pod: key, heldSeconds: action.heldSeconds }, 'gave up archiving pod logs; finalizer released without them');
        this.deps.events.forget(pod.metadata?.uid ?? '');
        return;
      case 'archive':
        if (await this.archive(key, pod, capture!, jobInfo, signal, false)) await this.releaseFinalizer(key, pod, 'archived', signal);
        return;
    }
  }

  /**
   * Starts the capture of a pod that needs one and has none, from the cached pod alone: called for every change of a
   * pod while this replica leads (not only when a worker gets to its key: with the queue backed up by slow archives or
   * by retries under an API outage, a short job could end, be deleted and lose its containers before that), and first
   * thing in every reconcile. Whether a capture is needed does not depend on the Job, so nothing is awaited.
   */
  ensureCapture(key: string, pod: V1Pod): void {
    if (this.captures.has(key)) return;
    if (planPod(this.factsOf(pod, undefined, false)).capture) this.startCapture(key, pod, 'leading');
  }

  private factsOf(pod: V1Pod, capture: PodLogCapture | undefined, jobSettled: boolean): ReturnType<typeof podFacts> {
    const { settings } = this.deps;
    return podFacts(pod, {
      managed: isManagedPod(pod.metadata, settings.jobNamePrefix),
      capture: capture?.state ?? 'none',
      jobSettled,
      archiveConfigured: this.deps.archive !== undefined,
      now: new Date(),
      giveUpSeconds: settings.giveUpSeconds,
    });
  }

  /**
   * The one place the log finalizer is removed: for a pod whose archive was
   * verified and marked on it, or at the give-up deadline. The capture goes
   * with it.
   */
  private async releaseFinalizer(key: string, pod: V1Pod, why: 'archived' | 'gave-up', signal: AbortSignal): Promise<void> {
    await this.dropCapture(key);
    const result = await this.deps.finalizers.release(pod.metadata?.namespace ?? '', pod.metadata?.name ?? '', signal);
    this.deps.logger.debug({ pod: key, why, result }, 'log finalizer released');
  }

  /** A leading capture streams its logs to S3 as they grow; a standby one only spools them. */
  private startCapture(key: string, pod: V1Pod, role: 'leading' | 'standby'): PodLogCapture {
    const capture = new PodLogCapture(pod, {
      http: this.deps.http,
      spoolRoot: this.deps.spoolRoot(),
      logger: this.deps.logger,
      backoff: this.deps.settings.logBackoff,
      // Within the give-up deadline: past it the finalizer goes anyway, and the capture with it.
      retryDeadlineMs: this.deps.settings.giveUpSeconds * 1000,
      onFinished: () => this.deps.enqueue(key),
      streamer: role === 'leading' ? this.streamerFor(pod) : undefined,
      dropUpload: this.dropUpload,
      ...(this.takeLeftover(capturePodUid(pod))),
    });
    this.captures.set(key, capture);
    return capture;
  }

  private takeLeftover(uid: string): { resumeDir?: string } {
    const dir = this.leftovers.get(uid);
    if (dir === undefined) return {};
    this.leftovers.delete(uid);
    return { resumeDir: dir };
  }

  private async dropCapture(key: string): Promise<void> {
    const capture = this.captures.get(key);
    if (!capture) return;
    this.captures.delete(key);
    if (this.deps.cache.pod(key)?.metadata?.uid !== capture.uid) this.endings.delete(capture.uid);
    await capture.dispose();
  }

  /** A pod whose capture we hold went from the API (or was replaced): archive what was captured. */
  private async archiveOrphan(key: string, capture: PodLogCapture, signal: AbortSignal): Promise<void> {
    capture.podGone();
    if (capture.state === 'capturing') return; // onFinished brings it back
    if (!this.deps.archive) {
      await this.dropCapture(key);
      return;
    }
    await this.archive(key, capture.pod, capture, await this.deps.cache.jobOf(capture.pod, signal), signal, true);
  }

  /** Archives the capture; true when the pod was marked archived (so its finalizer may go). */
  private async archive(key: string, pod: V1Pod, capture: PodLogCapture, jobInfo: JobInfo, signal: AbortSignal, podGone: boolean): Promise<boolean> {
    const ctx = this.deps.archive!;
    const { metrics, events } = this.deps;
    const namespace = pod.metadata?.namespace ?? '';
    const ref = jobRefOf(pod);
    try {
      const outcome = await archivePod(
        ctx,
        {
          pod,
          podGone,
          logs: capture.logs(),
          job: jobInfo.job,
          jobDeleted: jobInfo.deleted,
          jobHasOtherPods: ref !== undefined && this.deps.cache.podsOfJob(namespace, ref.name).some((p) => p.metadata?.uid !== pod.metadata?.uid),
          endedBeforeDeletion: endedBeforeDeletion(pod, this.endings.get(pod.metadata?.uid ?? '')),
        },
        signal,
      );
      metrics.archives.inc({ result: 'done' });
      metrics.archivedBytes.inc(outcome.bytes);
      this.reportIncomplete(pod, outcome);
      if (!podGone) events.emit(pod, 'Normal', EVENT_REASONS.archived, `Logs archived to s3://${ctx.s3.bucket}/${outcome.location}`);
      events.forget(pod.metadata?.uid ?? '');
      if (!outcome.marked) await this.dropCapture(key);
      return outcome.marked;
    } catch (error) {
      if (signal.aborted) return false;
      metrics.archives.inc({ result: 'failed' });
      // The spool files went (removed under us): this capture can never be archived; the next reconcile captures afresh.
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') await this.dropCapture(key);
      if (!podGone) events.emit(pod, 'Warning', EVENT_REASONS.archiveFailed, `Archiving the logs failed (will retry): ${errorText(error)}`);
      throw error;
    }
  }

  /** Logs archived incomplete are said loudly: an Event on the pod, a metric by kind, an error in the log. */
  private reportIncomplete(pod: V1Pod, outcome: ArchiveOutcome): void {
    if (outcome.incomplete.length === 0) return;
    const { metrics } = this.deps;
    for (const log of outcome.incomplete) {
      for (const reason of (log.incompleteReason ?? 'failed: incomplete').split('; ')) {
        metrics.logsIncomplete.inc({ kind: incompleteKind(reason.slice(reason.indexOf(': ') + 2)) });
      }
    }
    if (outcome.resultLost !== undefined) metrics.resultsLost.inc();
    const what = outcome.incomplete.map((l) => `${l.key} (${l.bytes} bytes): ${l.incompleteReason ?? 'incomplete'}`).join('; ');
    const lost = outcome.resultLost !== undefined ? ' The pod succeeded, but its result was lost with its log: the job is recorded as failed.' : '';
    this.deps.events.emit(pod, 'Warning', EVENT_REASONS.incomplete, `Archived incomplete logs: ${what}.${lost}`);
    this.deps.logger.error({ pod: pod.metadata?.name, namespace: pod.metadata?.namespace, incomplete: what, resultLost: outcome.resultLost }, 'container logs archived incomplete');
  }
}
