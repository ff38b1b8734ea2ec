/**
 * The log-archiving controller: watches job pods and Jobs, captures every
 * container's log while it runs, archives the logs and the job's outcome to
 * S3 when the pod is done, and only then releases the pod's finalizer.
 * Several replicas may run; the one holding the Lease does the work.
 *
 * Reconciles are keyed by pod and decided from the pod's current state
 * (plan.ts), never from the event that woke them; the work queue keeps one
 * reconcile per pod in flight, coalesces events and retries with back-off.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { KubeConfig, V1Job, V1Pod } from '@kubernetes/client-node';
// The model deserializer (ISO strings → Dates) is not re-exported by the package root in 1.x.
import { ObjectSerializer } from '@kubernetes/client-node/dist/serializer.js';
import type { S3Client } from '@aws-sdk/client-s3';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { isManagedPod } from '../lib/contract.js';
import { KubeHttp, isApiError } from '../lib/kube/http.js';
import { LeaderElector } from '../lib/kube/leader-election.js';
import { Reflector } from '../lib/kube/reflector.js';
import { createS3Client } from '../lib/s3/client.js';
import { WorkQueue } from '../lib/work-queue.js';
import { archivePod, KeyedLock, type ArchiveContext } from './archive-pod.js';
import { EVENT_REASONS, PodEvents } from './events.js';
import { jobFinished } from '../lib/job-status.js';
import { controllerMetrics, type ControllerMetrics } from './metrics.js';
import { planPod, podFacts } from './plan.js';
import { PodFinalizers } from './pod-finalizer.js';
import { PodLogCapture } from './pod-log-capture.js';
import { hasLogFinalizer, jobRefOf } from './pod-view.js';
import { S3Archive } from '../lib/archive/writer.js';
import type { ControllerSettings } from './settings.js';

export type { ControllerSettings } from './settings.js';
export { controllerSettingsFrom } from './settings.js';

export interface ControllerOptions {
  kubeConfig: KubeConfig;
  namespaces: string[];
  settings: ControllerSettings;
  logger: Logger;
  metricsRegistry: Registry;
  /** This replica's identity for leader election (e.g. the pod name). */
  identity: string;
}

export interface RunningController {
  /** The caches are synced (whether or not this replica leads). */
  ready(): boolean;
  isLeader(): boolean;
  /** Aborts captures and uploads in flight, releases the lease, closes the watches. */
  stop(): Promise<void>;
}

interface JobInfo {
  job: V1Job | undefined;
  deleted: boolean;
  settled: boolean;
}

/** Deleted Jobs are remembered while pods of theirs may still need archiving. */
interface Tombstone {
  job: V1Job;
  namespace: string;
  name: string;
}

const podKey = (pod: V1Pod): string => `${pod.metadata?.namespace ?? ''}/${pod.metadata?.name ?? ''}`;

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

class Controller {
  private readonly http: KubeHttp;
  private readonly pods = new Map<string, Reflector<V1Pod>>();
  private readonly jobs = new Map<string, Reflector<V1Job>>();
  private readonly tombstones = new Map<string, Tombstone>();
  private readonly captures = new Map<string, PodLogCapture>();
  private readonly queue: WorkQueue;
  private readonly finalizers: PodFinalizers;
  private readonly events: PodEvents;
  private readonly metrics: ControllerMetrics;
  private readonly logger: Logger;
  private readonly s3Client: S3Client | undefined;
  private readonly archive: ArchiveContext | undefined;
  private elector: LeaderElector | undefined;
  /** Aborted when leadership ends: everything done as leader stops. */
  private term: AbortController | undefined;
  private stopping = false;
  private spoolRoot = '';
  private ownSpool = false;

  constructor(private readonly options: ControllerOptions) {
    const { settings } = options;
    this.logger = options.logger;
    this.http = new KubeHttp(options.kubeConfig);
    this.finalizers = new PodFinalizers(this.http);
    this.events = new PodEvents(this.http, options.identity, settings.eventIntervalMs, this.logger);
    this.queue = new WorkQueue((key) => this.reconcile(key), {
      concurrency: settings.workers,
      baseDelayMs: settings.retry.baseMs,
      maxDelayMs: settings.retry.maxMs,
      onError: (key, error, attempt) => this.logger.warn({ pod: key, attempt, err: error }, 'reconcile failed; will retry'),
    });
    this.metrics = controllerMetrics(options.metricsRegistry, {
      queueDepth: () => this.queue.depth,
      oldestHeldFinalizerSeconds: () => this.oldestHeldFinalizerSeconds(),
      isLeader: () => this.term !== undefined,
    });
    if (settings.archive) {
      this.s3Client = createS3Client(settings.archive.bucket, settings.archive.secrets);
      this.archive = {
        s3: new S3Archive({
          client: this.s3Client,
          bucket: settings.archive.bucket.name,
          partSizeBytes: settings.partSizeBytes,
          queueSize: settings.uploadQueueSize,
        }),
        prefix: settings.archive.prefix,
        layout: settings.layout,
        jobNamePrefix: settings.jobNamePrefix,
        resultAnnotationLimitBytes: settings.resultAnnotationLimitBytes,
        http: this.http,
        finalizers: this.finalizers,
        logger: this.logger,
        jobLock: new KeyedLock(),
      };
    }
  }

  async start(): Promise<void> {
    const { settings, namespaces, kubeConfig } = this.options;
    if (namespaces.length === 0) throw new Error('the controller needs at least one namespace to watch');
    for (const message of settings.configurationErrors) this.logger.error(message);
    if (settings.spoolDirectory) this.spoolRoot = settings.spoolDirectory;
    else {
      this.spoolRoot = await mkdtemp(path.join(os.tmpdir(), 'k8s-job-manager-spool-'));
      this.ownSpool = true;
    }
    const common = {
      kubeConfig,
      logger: this.logger,
      resyncIntervalMs: settings.watch.resyncIntervalMs,
      stallTimeoutMs: settings.watch.stallTimeoutMs,
      watchTimeoutSeconds: settings.watch.watchTimeoutSeconds,
      backoff: settings.watch.backoff,
    };
    for (const namespace of namespaces) {
      // All pods of the namespace: ours are recognised by label, finalizer or Python job name, which no one selector expresses.
      this.pods.set(
        namespace,
        new Reflector<V1Pod>({
          ...common,
          path: `/api/v1/namespaces/${namespace}/pods`,
          deserialize: (raw) => ObjectSerializer.deserialize(raw, 'V1Pod') as V1Pod,
          onEvent: (type, pod) => this.podChanged(type, pod),
          onRestart: () => this.metrics.watchRestarts.inc({ resource: 'pods' }),
        }),
      );
      this.jobs.set(
        namespace,
        new Reflector<V1Job>({
          ...common,
          path: `/apis/batch/v1/namespaces/${namespace}/jobs`,
          deserialize: (raw) => ObjectSerializer.deserialize(raw, 'V1Job') as V1Job,
          onEvent: (type, job) => this.jobChanged(type, job),
          onRestart: () => this.metrics.watchRestarts.inc({ resource: 'jobs' }),
        }),
      );
    }
    await Promise.all([...this.pods.values(), ...this.jobs.values()].map((r) => r.start()));
    const election = settings.leaderElection;
    this.elector = new LeaderElector({
      kubeConfig,
      namespace: election.leaseNamespace ?? namespaces[0]!,
      name: election.leaseName,
      identity: this.options.identity,
      leaseDurationSeconds: election.leaseDurationSeconds,
      renewDeadlineSeconds: election.renewDeadlineSeconds,
      retryPeriodSeconds: election.retryPeriodSeconds,
      logger: this.logger,
      onStartedLeading: () => this.startLeading(),
      onStoppedLeading: () => void this.stopLeading(),
    });
    await this.elector.start();
  }

  ready(): boolean {
    return !this.stopping && [...this.pods.values(), ...this.jobs.values()].every((r) => r.synced);
  }

  isLeader(): boolean {
    return this.term !== undefined;
  }

  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.term?.abort();
    await this.queue.shutdown();
    await this.disposeCaptures();
    await this.elector?.stop();
    this.term = undefined;
    await Promise.all([...this.pods.values(), ...this.jobs.values()].map((r) => r.stop()));
    this.http.close();
    this.s3Client?.destroy();
    if (this.ownSpool) await rm(this.spoolRoot, { recursive: true, force: true });
  }

  private startLeading(): void {
    if (this.stopping) return;
    this.term = new AbortController();
    for (const reflector of this.pods.values()) for (const pod of reflector.list()) this.queue.add(podKey(pod));
  }

  private async stopLeading(): Promise<void> {
    this.term?.abort();
    this.term = undefined;
    await this.disposeCaptures();
  }

  private async disposeCaptures(): Promise<void> {
    const all = [...this.captures.values()];
    this.captures.clear();
    await Promise.all(all.map((c) => c.dispose()));
  }

  private podChanged(type: 'ADDED' | 'MODIFIED' | 'DELETED', pod: V1Pod): void {
    const key = podKey(pod);
    const capture = this.captures.get(key);
    if (capture && capture.uid === pod.metadata?.uid) {
      if (type === 'DELETED') capture.podGone();
      else capture.update(pod);
    }
    if (type === 'DELETED') this.pruneTombstones();
    if (this.term && (capture || isManagedPod(pod.metadata, this.options.settings.jobNamePrefix))) this.queue.add(key);
  }

  private jobChanged(type: 'ADDED' | 'MODIFIED' | 'DELETED', job: V1Job): void {
    const namespace = job.metadata?.namespace ?? '';
    const name = job.metadata?.name ?? '';
    if (type === 'DELETED') this.tombstones.set(job.metadata?.uid ?? `${namespace}/${name}`, { job, namespace, name });
    if (!this.term) return;
    for (const pod of this.podsOfJob(namespace, name)) this.queue.add(podKey(pod));
  }

  private podsOfJob(namespace: string, jobName: string, uid?: string): V1Pod[] {
    return (this.pods.get(namespace)?.list() ?? []).filter((p) => {
      const ref = jobRefOf(p);
      return ref?.name === jobName && (uid === undefined || ref.uid === undefined || ref.uid === uid);
    });
  }

  /** Forgets deleted Jobs none of whose pods are left. */
  private pruneTombstones(): void {
    for (const [key, tomb] of this.tombstones) {
      if (this.podsOfJob(tomb.namespace, tomb.name, tomb.job.metadata?.uid).length === 0) this.tombstones.delete(key);
    }
  }

  private async jobOf(pod: V1Pod, signal: AbortSignal): Promise<JobInfo> {
    const ref = jobRefOf(pod);
    if (!ref) return { job: undefined, deleted: false, settled: true };
    const namespace = pod.metadata?.namespace ?? '';
    const sameJob = (job: V1Job | undefined): job is V1Job => job !== undefined && (ref.uid === undefined || job.metadata?.uid === ref.uid);
    const live = this.jobs.get(namespace)?.get(namespace, ref.name);
    if (sameJob(live)) return { job: live, deleted: false, settled: jobFinished(live) };
    const tomb = this.tombstones.get(ref.uid ?? `${namespace}/${ref.name}`);
    if (tomb) return { job: tomb.job, deleted: true, settled: true };
    // Not in the cache and not seen going: the Job watch may lag the pod watch, so ask the API server.
    try {
      const raw = await this.http.request({ path: `/apis/batch/v1/namespaces/${namespace}/jobs/${ref.name}`, signal });
      const job = ObjectSerializer.deserialize(raw, 'V1Job') as V1Job;
      if (sameJob(job)) return { job, deleted: false, settled: jobFinished(job) };
    } catch (error) {
      if (!isApiError(error, 404)) throw error;
    }
    return { job: undefined, deleted: true, settled: true };
  }

  private oldestHeldFinalizerSeconds(): number {
    const now = Date.now();
    let oldest = 0;
    for (const reflector of this.pods.values()) {
      for (const pod of reflector.list()) {
        const deletion = pod.metadata?.deletionTimestamp;
        if (deletion && hasLogFinalizer(pod)) oldest = Math.max(oldest, (now - new Date(deletion).getTime()) / 1000);
      }
    }
    return oldest;
  }

  private startCapture(key: string, pod: V1Pod): PodLogCapture {
    const capture = new PodLogCapture(pod, {
      http: this.http,
      spoolRoot: this.spoolRoot,
      logger: this.logger,
      backoff: this.options.settings.logBackoff,
      onFinished: () => this.queue.add(key),
    });
    this.captures.set(key, capture);
    return capture;
  }

  private async dropCapture(key: string): Promise<void> {
    const capture = this.captures.get(key);
    if (!capture) return;
    this.captures.delete(key);
    await capture.dispose();
  }

  private async reconcile(key: string): Promise<void> {
    const term = this.term;
    if (!term || this.stopping) return;
    const signal = term.signal;
    const slash = key.indexOf('/');
    const namespace = key.slice(0, slash);
    const name = key.slice(slash + 1);
    const pod = this.pods.get(namespace)?.get(namespace, name);
    const held = this.captures.get(key);
    if (held && (!pod || held.uid !== pod.metadata?.uid)) {
      await this.archiveOrphan(key, held, signal);
      // A pod of the same name replaced it: the old capture is archived first (its end re-queues the key).
      if (this.captures.has(key)) return;
    }
    if (!pod) return;
    const { settings } = this.options;
    const jobInfo = await this.jobOf(pod, signal);
    let capture = this.captures.get(key);
    const plan = planPod(
      podFacts(pod, {
        managed: isManagedPod(pod.metadata, settings.jobNamePrefix),
        capture: capture?.state ?? 'none',
        jobSettled: jobInfo.settled,
        archiveConfigured: this.archive !== undefined,
        now: new Date(),
        giveUpSeconds: settings.giveUpSeconds,
      }),
    );
    if (plan.addFinalizer) await this.finalizers.add(pod, signal);
    if (plan.capture && !capture) capture = this.startCapture(key, pod);
    const action = plan.action;
    switch (action.kind) {
      case 'ignore':
        await this.dropCapture(key);
        return;
      case 'wait':
        if (action.recheckAfterMs !== undefined) this.queue.addAfter(key, action.recheckAfterMs);
        return;
      case 'hold':
        this.events.emit(
          pod,
          'Warning',
          EVENT_REASONS.notConfigured,
          `The log archive is not configured (${settings.missingVariables.join(', ')} not set); the pod keeps its log finalizer until it is.`,
        );
        if (action.recheckAfterMs !== undefined) this.queue.addAfter(key, action.recheckAfterMs);
        return;
      case 'release':
        await this.finalizers.release(namespace, name, signal);
        await this.dropCapture(key);
        return;
      case 'give-up':
        await this.dropCapture(key);
        await this.finalizers.release(namespace, name, signal);
        this.metrics.archives.inc({ result: 'gave_up' });
        this.events.emit(pod, 'Warning', EVENT_REASONS.gaveUp, `Gave up archiving the logs after ${action.heldSeconds} s; the finalizer was removed without them.`);
        this.logger.error({ pod: key, heldSeconds: action.heldSeconds }, 'gave up archiving pod logs; finalizer released without them');
        this.events.forget(pod.metadata?.uid ?? '');
        return;
      case 'archive':
        await this.archivePod(key, pod, capture!, jobInfo, signal, false);
        return;
    }
  }

  /** A pod whose capture we hold went from the API (or was replaced): archive what was captured. */
  private async archiveOrphan(key: string, capture: PodLogCapture, signal: AbortSignal): Promise<void> {
    capture.podGone();
    if (capture.state === 'capturing') return; // onFinished brings it back
    if (!this.archive) {
      await this.dropCapture(key);
      return;
    }
    await this.archivePod(key, capture.pod, capture, await this.jobOf(capture.pod, signal), signal, true);
  }

  private async archivePod(key: string, pod: V1Pod, capture: PodLogCapture, jobInfo: JobInfo, signal: AbortSignal, podGone: boolean): Promise<void> {
    const ctx = this.archive!;
    const namespace = pod.metadata?.namespace ?? '';
    const ref = jobRefOf(pod);
    try {
      if (capture.state === 'incomplete') {
        this.events.emit(pod, 'Warning', EVENT_REASONS.incomplete, 'Some container logs were gone before they were read to the end; archiving what was captured.');
      }
      const outcome = await archivePod(
        ctx,
        {
          pod,
          podGone,
          logs: capture.logs(),
          job: jobInfo.job,
          jobDeleted: jobInfo.deleted,
          jobHasOtherPods: ref !== undefined && this.podsOfJob(namespace, ref.name).some((p) => p.metadata?.uid !== pod.metadata?.uid),
        },
        signal,
      );
      this.metrics.archives.inc({ result: 'done' });
      this.metrics.archivedBytes.inc(outcome.bytes);
      if (!podGone) this.events.emit(pod, 'Normal', EVENT_REASONS.archived, `Logs archived to s3://${ctx.s3.bucket}/${outcome.location}`);
      this.events.forget(pod.metadata?.uid ?? '');
      await this.dropCapture(key);
    } catch (error) {
      if (signal.aborted) return;
      this.metrics.archives.inc({ result: 'failed' });
      if (!podGone) this.events.emit(pod, 'Warning', EVENT_REASONS.archiveFailed, `Archiving the logs failed (will retry): ${errorText(error)}`);
      throw error;
    }
  }
}

export async function startController(options: ControllerOptions): Promise<RunningController> {
  const controller = new Controller(options);
  try {
    await controller.start();
  } catch (error) {
    await controller.stop();
    throw error;
  }
  return { ready: () => controller.ready(), isLeader: () => controller.isLeader(), stop: () => controller.stop() };
}
