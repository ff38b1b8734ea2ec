/**
 * The log-archiving controller: watches job pods and Jobs, captures every
 * container's log while it runs, archives the logs and the job's outcome to
 * S3 when the pod is done, and only then releases the pod's finalizer.
 *
 * Three layers, as in controller-runtime and kube-rs:
 * - pod-cache.ts: the reflectors (list+watch caches of pods and Jobs);
 * - reconciler.ts: decides from a pod's current state and acts, the one
 *   place that removes the finalizer;
 * - this runner: the work queue and its workers (one reconcile per pod key
 *   in flight, coalesced, retried with back-off), leader election (several
 *   replicas may run; the one holding the Lease does the work) and shutdown.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { V1Pod } from '@kubernetes/client-node';
import type { KubeAccess } from '../lib/kube/kube-access.js';
import type { S3Client } from '@aws-sdk/client-s3';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { KubeHttp } from '../lib/kube/http.js';
import { LeaderElector } from '../lib/kube/leader-election.js';
import { createS3Client } from '../lib/s3/client.js';
import { WorkQueue } from '../lib/work-queue.js';
import { S3Archive } from '../lib/archive/writer.js';
import { KeyedLock, type ArchiveContext } from './archive-pod.js';
import { PodEvents } from './events.js';
import { controllerMetrics, type ControllerMetrics } from './metrics.js';
import { PodCache, podKey } from './pod-cache.js';
import { PodFinalizers } from './pod-finalizer.js';
import { Reconciler } from './reconciler.js';
import type { ControllerSettings } from './settings.js';

export type { ControllerSettings } from './settings.js';
export { controllerSettingsFrom } from './settings.js';

export interface ControllerOptions {
  kubeConfig: KubeAccess;
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

class Runner {
  private readonly http: KubeHttp;
  private readonly cache: PodCache;
  private readonly reconciler: Reconciler;
  private readonly queue: WorkQueue;
  private readonly metrics: ControllerMetrics;
  private readonly logger: Logger;
  private readonly s3Client: S3Client | undefined;
  private elector: LeaderElector | undefined;
  /** Aborted when leadership ends: everything done as leader stops. */
  private term: AbortController | undefined;
  /**
   * Settles once the captures of the term before (standby ones, or those of a lost term) are suspended into leftovers
   * that this term's captures take up: no capture of a term starts before then (two captures of one pod would share
   * nothing, and the second would read from the kubelet again what the first had spooled).
   */
  private handover: Promise<void> = Promise.resolve();
  /** Capturing as a standby replica (another leads; see Reconciler.keepStandby). */
  private standby = false;
  /** This term's handover is done: pod changes start leading captures. */
  private leadingCaptures = false;
  private stopping = false;
  private spoolRoot = '';
  private ownSpool = false;

  constructor(private readonly options: ControllerOptions) {
    const { settings } = options;
    if (options.namespaces.length === 0) throw new Error('the controller needs at least one namespace to watch');
    this.logger = options.logger;
    this.http = new KubeHttp(options.kubeConfig);
    const finalizers = new PodFinalizers(this.http);
    this.queue = new WorkQueue((key) => this.reconcile(key), {
      concurrency: settings.workers,
      baseDelayMs: settings.retry.baseMs,
      maxDelayMs: settings.retry.maxMs,
      onError: (key, error, attempt) => this.logger.warn({ pod: key, attempt, err: error }, 'reconcile failed; will retry'),
    });
    this.cache = new PodCache({
      kubeConfig: options.kubeConfig,
      http: this.http,
      namespaces: options.namespaces,
      watch: settings.watch,
      logger: this.logger,
      onPod: (type, pod) => this.podChanged(type, pod),
      onJob: (_type, job) => {
        if (!this.term) return;
        for (const pod of this.cache.podsOfJob(job.metadata?.namespace ?? '', job.metadata?.name ?? '')) this.queue.add(podKey(pod));
      },
      onWatchRestart: (resource) => this.metrics.watchRestarts.inc({ resource }),
    });
    this.metrics = controllerMetrics(options.metricsRegistry, {
      queueDepth: () => this.queue.depth,
      oldestHeldFinalizerSeconds: () => this.cache.oldestHeldFinalizerSeconds(),
      isLeader: () => this.term !== undefined,
      captures: () => ({ role: this.term ? 'leading' : 'standby', pods: this.reconciler.captureCount }),
    });
    let archive: ArchiveContext | undefined;
    if (settings.archive) {
      this.s3Client = createS3Client(settings.archive.bucket, settings.archive.secrets);
      archive = {
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
        finalizers,
        logger: this.logger,
        jobLock: new KeyedLock(),
      };
    }
    this.reconciler = new Reconciler({
      cache: this.cache,
      http: this.http,
      finalizers,
      events: new PodEvents(this.http, options.identity, settings.eventIntervalMs, this.logger),
      metrics: this.metrics,
      archive,
      settings,
      spoolRoot: () => this.spoolRoot,
      logger: this.logger,
      enqueue: (key) => this.queue.add(key),
      enqueueAfter: (key, ms) => this.queue.addAfter(key, ms),
    });
  }

  async start(): Promise<void> {
    const { settings, namespaces, kubeConfig } = this.options;
    for (const message of settings.configurationErrors) this.logger.error(message);
    if (settings.spoolDirectory) {
      // A folder of this replica's own (its identity is its pod name). What an earlier run of it left there (a restart
      // in the same pod: the emptyDir outlives the container) is resumed from its journals (spool-journal.ts).
      this.spoolRoot = path.join(settings.spoolDirectory, this.options.identity.replace(/[^A-Za-z0-9._-]/g, '_'));
      await mkdir(this.spoolRoot, { recursive: true });
      await this.reconciler.findLeftovers();
    } else {
      this.spoolRoot = await mkdtemp(path.join(os.tmpdir(), 'k8s-job-manager-spool-'));
      this.ownSpool = true;
    }
    await this.cache.start();
    const election = settings.leaderElection;
    this.elector = new LeaderElector({
      kubeConfig,
      http: this.http,
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
    // After the first attempt, so a replica that leads at once never captures as a standby first.
    if (!this.term) this.startStandby();
  }

  ready(): boolean {
    return !this.stopping && this.cache.synced;
  }

  isLeader(): boolean {
    return this.term !== undefined;
  }

  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.standby = false;
    this.term?.abort();
    await this.queue.shutdown();
    await this.handover;
    await this.reconciler.disposeCaptures();
    await this.elector?.stop();
    this.term = undefined;
    await this.cache.stop();
    this.http.close();
    this.s3Client?.destroy();
    if (this.ownSpool) await rm(this.spoolRoot, { recursive: true, force: true });
  }

  private startLeading(): void {
    if (this.stopping) return;
    const term = new AbortController();
    this.term = term;
    this.standby = false;
    this.leadingCaptures = false;
    // Standby captures become leftovers that the leading captures take up: a log the standby read to its end is not
    // read from the kubelet again, and the rest is read from where its spool ends.
    this.handover = this.handover.then(async () => {
      await this.reconciler.disposeCaptures();
      if (term.signal.aborted) return;
      this.leadingCaptures = true;
      void this.reconciler.sweepLeftovers().catch((error: unknown) => this.logger.warn({ err: error }, 'could not sweep the spool left by an earlier run'));
      for (const pod of this.cache.allPods()) {
        const key = podKey(pod);
        this.reconciler.ensureCapture(key, pod);
        this.queue.add(key);
      }
    }).catch((error: unknown) => this.logger.error({ err: error }, 'taking over the captures failed'));
  }

  private async stopLeading(): Promise<void> {
    this.term?.abort();
    this.term = undefined;
    this.leadingCaptures = false;
    this.handover = this.handover.then(() => this.reconciler.disposeCaptures()).catch((error: unknown) => this.logger.error({ err: error }, 'stopping the captures failed'));
    await this.handover;
    if (!this.term) this.startStandby();
  }

  /** While another replica leads: capture every pod the leader would, into this replica's spool (settings.standbyCapture). */
  private startStandby(): void {
    if (this.stopping || this.term || !this.options.settings.standbyCapture || !this.options.settings.archive) return;
    this.standby = true;
    void this.reconciler.sweepLeftovers().catch((error: unknown) => this.logger.warn({ err: error }, 'could not sweep the spool left by an earlier run'));
    for (const pod of this.cache.allPods()) this.reconciler.keepStandby('MODIFIED', podKey(pod), pod);
  }

  private podChanged(type: 'ADDED' | 'MODIFIED' | 'DELETED', pod: V1Pod): void {
    const key = podKey(pod);
    if (!this.reconciler.podChanged(type, key, pod)) return;
    if (this.standby && !this.stopping) this.reconciler.keepStandby(type, key, pod);
    if (!this.term) return;
    if (type !== 'DELETED' && this.leadingCaptures) this.reconciler.ensureCapture(key, pod);
    this.queue.add(key);
  }

  private async reconcile(key: string): Promise<void> {
    const term = this.term;
    if (!term || this.stopping) return;
    await this.handover;
    if (term.signal.aborted || this.stopping) return;
    await this.reconciler.reconcile(key, term.signal);
  }
}

export async function startController(options: ControllerOptions): Promise<RunningController> {
  const runner = new Runner(options);
  try {
    await runner.start();
  } catch (error) {
    await runner.stop();
    throw error;
  }
  return { ready: () => runner.ready(), isLeader: () => runner.isLeader(), stop: () => runner.stop() };
}
