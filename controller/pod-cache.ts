/**
 * The controller's view of the cluster (the reflector layer): list+watch
 * caches of the pods and Jobs of the watched namespaces, tombstones of
 * deleted Jobs whose pods may still need archiving, and the lookups the
 * reconciler decides from. No decisions here: changes are handed on.
 */
import type { V1Job, V1Pod } from '@kubernetes/client-node';
import type { KubeAccess } from '../lib/kube/kube-access.js';
import type { Logger } from 'pino';
import { jobFinished } from '../lib/job-status.js';
import { isApiError, type KubeHttp } from '../lib/kube/http.js';
import { fromWire } from '../lib/kube/objects.js';
import { Reflector, type ReflectorEventType } from '../lib/kube/reflector.js';
import { hasLogFinalizer, jobRefOf } from './pod-view.js';
import type { ControllerSettings } from './settings.js';

export interface JobInfo {
  job: V1Job | undefined;
  deleted: boolean;
  /** The Job finished, was deleted, or there is none: its outcome is known. */
  settled: boolean;
}

/** A deleted Job, remembered while pods of it may still need archiving. */
interface Tombstone {
  job: V1Job;
  namespace: string;
  name: string;
}

export interface PodCacheOptions {
  kubeConfig: KubeAccess;
  http: KubeHttp;
  namespaces: string[];
  watch: ControllerSettings['watch'];
  logger: Logger;
  onPod: (type: ReflectorEventType, pod: V1Pod) => void;
  onJob: (type: ReflectorEventType, job: V1Job) => void;
  onWatchRestart: (resource: 'pods' | 'jobs') => void;
}

export const podKey = (pod: V1Pod): string => `${pod.metadata?.namespace ?? ''}/${pod.metadata?.name ?? ''}`;

export class PodCache {
  private readonly pods = new Map<string, Reflector<V1Pod>>();
  private readonly jobs = new Map<string, Reflector<V1Job>>();
  /** Bound: a tombstone goes with the last pod of its Job (pruneTombstones, on every pod deletion). */
  private readonly tombstones = new Map<string, Tombstone>();

  constructor(private readonly options: PodCacheOptions) {
    const { kubeConfig, logger, watch } = options;
    const common = {
      kubeConfig,
      http: options.http,
      logger,
      resyncIntervalMs: watch.resyncIntervalMs,
      stallTimeoutMs: watch.stallTimeoutMs,
      watchTimeoutSeconds: watch.watchTimeoutSeconds,
      backoff: watch.backoff,
    };
    for (const namespace of options.namespaces) {
      // All pods of the namespace: ours are recognised by label, finalizer or Python job name, which no one selector expresses.
      this.pods.set(
        namespace,
        new Reflector<V1Pod>({
          ...common,
          path: `/api/v1/namespaces/${namespace}/pods`,
          deserialize: (raw) => fromWire<V1Pod>(raw, 'V1Pod'),
          onEvent: (type, pod) => {
            if (type === 'DELETED') this.pruneTombstones();
            options.onPod(type, pod);
          },
          onRestart: () => options.onWatchRestart('pods'),
        }),
      );
      this.jobs.set(
        namespace,
        new Reflector<V1Job>({
          ...common,
          path: `/apis/batch/v1/namespaces/${namespace}/jobs`,
          deserialize: (raw) => fromWire<V1Job>(raw, 'V1Job'),
          onEvent: (type, job) => {
            if (type === 'DELETED') {
              const name = job.metadata?.name ?? '';
              this.tombstones.set(job.metadata?.uid ?? `${namespace}/${name}`, { job, namespace, name });
            }
            options.onJob(type, job);
          },
          onRestart: () => options.onWatchRestart('jobs'),
        }),
      );
    }
  }

  private get reflectors(): Array<Reflector<V1Pod> | Reflector<V1Job>> {
    return [...this.pods.values(), ...this.jobs.values()];
  }

  /** Resolves once every cache holds its first list. */
  async start(): Promise<void> {
    await Promise.all(this.reflectors.map((r) => r.start()));
  }

  async stop(): Promise<void> {
    await Promise.all(this.reflectors.map((r) => r.stop()));
  }

  get synced(): boolean {
    return this.reflectors.every((r) => r.synced);
  }

  pod(key: string): V1Pod | undefined {
    const slash = key.indexOf('/');
    const namespace = key.slice(0, slash);
    return this.pods.get(namespace)?.get(namespace, key.slice(slash + 1));
  }

  allPods(): V1Pod[] {
    return [...this.pods.values()].flatMap((r) => r.list());
  }

  /** The cached pods of a Job (of that uid, when given). */
  podsOfJob(namespace: string, jobName: string, uid?: string): V1Pod[] {
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

  /** The pod's Job: cached, remembered as deleted, or (when the Job watch lags the pod watch) asked for. */
  async jobOf(pod: V1Pod, signal: AbortSignal): Promise<JobInfo> {
    const ref = jobRefOf(pod);
    if (!ref) return { job: undefined, deleted: false, settled: true };
    const namespace = pod.metadata?.namespace ?? '';
    const sameJob = (job: V1Job | undefined): job is V1Job => job !== undefined && (ref.uid === undefined || job.metadata?.uid === ref.uid);
    const live = this.jobs.get(namespace)?.get(namespace, ref.name);
    if (sameJob(live)) return { job: live, deleted: false, settled: jobFinished(live) };
    const tomb = this.tombstones.get(ref.uid ?? `${namespace}/${ref.name}`);
    if (tomb) return { job: tomb.job, deleted: true, settled: true };
    try {
      const raw = await this.options.http.request({ path: `/apis/batch/v1/namespaces/${namespace}/jobs/${ref.name}`, signal });
      const job = fromWire<V1Job>(raw, 'V1Job');
      if (sameJob(job)) return { job, deleted: false, settled: jobFinished(job) };
    } catch (error) {
      if (!isApiError(error, 404)) throw error;
    }
    return { job: undefined, deleted: true, settled: true };
  }

  /** Seconds the longest-held log finalizer of a pod being deleted has been held (0 if none). */
  oldestHeldFinalizerSeconds(now = Date.now()): number {
    let oldest = 0;
    for (const pod of this.allPods()) {
      const deletion = pod.metadata?.deletionTimestamp;
      if (deletion && hasLogFinalizer(pod)) oldest = Math.max(oldest, (now - new Date(deletion).getTime()) / 1000);
    }
    return oldest;
  }
}
