/**
 * The Job controller: creates a Job's pods from its template (through the
 * registry, so admission webhooks see them), tracks finished pods with the
 * `batch.kubernetes.io/job-tracking` finalizer and `uncountedTerminatedPods`
 * as batch/v1 does, retries with back-off up to backoffLimit, enforces
 * activeDeadlineSeconds, honours suspend, and writes the Job's status.
 */
import type { Registry } from '../api-server/registry.js';
import { JOB, POD } from '../api-server/resources.js';
import { rfc3339 } from '../api-server/strategies.js';
import { isRecord, type KubeObject } from '../api-server/types.js';
import type { ApiError } from '../api-server/errors.js';
import { KeyQueue } from './key-queue.js';
import type { EventRecorder } from './events.js';
import { conditionTrue, isFinished, jobSpecView, judgeJob, podCreationBackoffMs, setCondition, type JobCondition } from './job-status.js';

export const JOB_TRACKING_FINALIZER = 'batch.kubernetes.io/job-tracking';
const CONTROLLER_USER = 'system:serviceaccount:kube-system:job-controller';
const ORPHAN_PREFIX = 'orphan:';

interface Uncounted {
  succeeded: string[];
  failed: string[];
}

function ownerUid(pod: KubeObject): string | undefined {
  return pod.metadata.ownerReferences?.find((r) => r.controller === true && r.kind === 'Job')?.uid;
}

function phaseOf(pod: KubeObject): string {
  return isRecord(pod.status) ? String(pod.status.phase ?? 'Pending') : 'Pending';
}

function isReady(pod: KubeObject): boolean {
  const conditions = isRecord(pod.status) && Array.isArray(pod.status.conditions) ? pod.status.conditions : [];
  return conditions.some((c) => isRecord(c) && c.type === 'Ready' && c.status === 'True');
}

/** Container restarts of running and pending pods (what counts against backoffLimit under OnFailure). */
function activeRestarts(pods: KubeObject[]): number {
  let total = 0;
  for (const pod of pods) {
    if (!['Running', 'Pending'].includes(phaseOf(pod)) || !isRecord(pod.status)) continue;
    for (const list of [pod.status.initContainerStatuses, pod.status.containerStatuses]) {
      for (const c of Array.isArray(list) ? list : []) total += isRecord(c) && typeof c.restartCount === 'number' ? c.restartCount : 0;
    }
  }
  return total;
}

function notFoundIsFine(error: unknown): void {
  if ((error as ApiError).code !== 404) throw error;
}

export class JobController {
  private readonly queue: KeyQueue;
  private unsubscribe: (() => void) | undefined;
  /** Job uid → queue key, so a pod event finds its Job without a scan. */
  private readonly jobKeys = new Map<string, string>();
  /**
   * The pods each Job controls (Job uid → pod keys), as the real controller's
   * informer index: a reconcile reads its Job's pods, not every pod of the
   * namespace (that scan, with a copy of each pod, made every pod change
   * O(pods)). Kept from the store's events, which are announced as each
   * change is applied, so it is always the store's own view.
   * Bound: one entry per pod in the store, removed with the pod.
   */
  private readonly podsByJob = new Map<string, Set<string>>();
  /** Pod key → the Job uid it is indexed under (an owner reference can be removed, e.g. by orphaning). */
  private readonly podJob = new Map<string, string>();

  constructor(
    private readonly registry: Registry,
    private readonly events: EventRecorder,
    private readonly backoffBaseMs: number,
  ) {
    this.queue = new KeyQueue((key) => this.reconcile(key), 4);
  }

  start(): void {
    const jobChanged = (job: KubeObject, gone: boolean): void => {
      const key = `${job.metadata.namespace}/${job.metadata.name}`;
      if (gone) this.jobKeys.delete(job.metadata.uid ?? '');
      else this.jobKeys.set(job.metadata.uid ?? '', key);
      this.queue.add(key);
    };
    this.unsubscribe = this.registry.store.subscribe((event) => {
      if (event.resource === POD) this.indexPod(event.object, event.type === 'DELETED');
      if (event.resource === JOB) jobChanged(event.object, event.type === 'DELETED');
      else if (event.resource === POD && event.type !== 'DELETED') {
        const owner = ownerUid(event.object);
        const key = this.jobKeys.get(owner ?? '');
        if (key) this.queue.add(key);
        else if (event.object.metadata.finalizers?.includes(JOB_TRACKING_FINALIZER)) {
          // The Job is gone: nobody will count this pod, so its tracking finalizer goes (as the real controller does).
          this.queue.add(`${ORPHAN_PREFIX}${event.object.metadata.namespace}/${event.object.metadata.name}`);
        }
      }
    });
    for (const pod of this.registry.store.listStored(POD)) this.indexPod(pod, false);
    for (const job of this.registry.store.list(JOB)) jobChanged(job, false);
  }

  private indexPod(pod: KubeObject, gone: boolean): void {
    const key = `${pod.metadata.namespace}/${pod.metadata.name}`;
    const owner = gone ? undefined : ownerUid(pod);
    const indexed = this.podJob.get(key);
    if (indexed === owner) return;
    if (indexed !== undefined) {
      const keys = this.podsByJob.get(indexed);
      keys?.delete(key);
      if (keys?.size === 0) this.podsByJob.delete(indexed);
      this.podJob.delete(key);
    }
    if (owner === undefined) return;
    this.podJob.set(key, owner);
    let keys = this.podsByJob.get(owner);
    if (!keys) this.podsByJob.set(owner, (keys = new Set()));
    keys.add(key);
  }

  /** The pods of the Job's namespace it controls, in key order (as a list gives them), each a copy. */
  private podsOf(uid: string | undefined, namespace: string): KubeObject[] {
    const pods: KubeObject[] = [];
    for (const key of [...(this.podsByJob.get(uid ?? '') ?? [])].sort()) {
      const [podNamespace, name] = key.split('/') as [string, string];
      if (podNamespace !== namespace) continue;
      const pod = this.registry.store.get(POD, podNamespace, name);
      if (pod) pods.push(pod);
    }
    return pods;
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
    await this.queue.shutdown();
  }

  private async reconcile(key: string): Promise<void> {
    if (key.startsWith(ORPHAN_PREFIX)) return this.releaseOrphan(key.slice(ORPHAN_PREFIX.length));
    const [namespace, name] = key.split('/') as [string, string];
    const job = this.registry.store.get(JOB, namespace, name);
    if (!job) return;
    const uid = job.metadata.uid;
    const pods = this.podsOf(uid, namespace);
    const status: Record<string, unknown> = isRecord(job.status) ? structuredClone(job.status) : {};
    if (job.metadata.deletionTimestamp) {
      // A Job being deleted still accounts for its pods (so their tracking finalizers go), but makes no new ones.
      await this.trackFinishedPods(job, pods, status);
      await this.writeStatus(job, status);
      return;
    }
    const now = new Date();
    const nowText = rfc3339(now);

    await this.trackFinishedPods(job, pods, status);

    const counts = {
      restarts: activeRestarts(pods),
      succeeded: Number(status.succeeded ?? 0),
      failed: Number(status.failed ?? 0),
      active: pods.filter((p) => !p.metadata.deletionTimestamp && !['Succeeded', 'Failed'].includes(phaseOf(p))).length,
      terminating: pods.filter((p) => p.metadata.deletionTimestamp && !['Succeeded', 'Failed'].includes(phaseOf(p))).length,
    };
    const activePods = pods.filter((p) => !p.metadata.deletionTimestamp && !['Succeeded', 'Failed'].includes(phaseOf(p)));
    const spec = jobSpecView(job);
    let conditions = (Array.isArray(status.conditions) ? status.conditions : []) as JobCondition[];

    if (isFinished(status)) {
      await this.deletePods(job, activePods);
    } else if (spec.suspend) {
      await this.deletePods(job, activePods);
      if (!conditionTrue(status, 'Suspended')) this.events.record(job, 'Normal', 'Suspended', 'Job suspended', 'job-controller');
      conditions = setCondition(conditions, 'Suspended', 'True', nowText, 'JobSuspended', 'Job suspended');
      counts.active = 0;
    } else {
      if (conditionTrue(status, 'Suspended')) {
        conditions = setCondition(conditions, 'Suspended', 'False', nowText, 'JobResumed', 'Job resumed');
        this.events.record(job, 'Normal', 'Resumed', 'Job resumed', 'job-controller');
        status.startTime = nowText;
      }
      status.startTime ??= nowText;
      const startMs = Date.parse(String(status.startTime));
      const failing = conditions.find((c) => c.type === 'FailureTarget' && c.status === 'True');
      const verdict = failing
        ? ({ kind: 'failed', reason: failing.reason, message: failing.message ?? '' } as const)
        : judgeJob(spec, counts, startMs, now.getTime());
      if (verdict.kind === 'failed') {
        if (!failing) {
          conditions = setCondition(conditions, 'FailureTarget', 'True', nowText, verdict.reason, verdict.message);
          this.events.record(job, 'Warning', verdict.reason ?? 'Failed', verdict.message, 'job-controller');
        }
        await this.deletePods(job, activePods);
        counts.active = 0;
        // The Failed condition waits until no pod of the Job is still terminating.
        if (counts.terminating === 0 && pods.every((p) => !p.metadata.finalizers?.includes(JOB_TRACKING_FINALIZER))) {
          conditions = setCondition(conditions, 'Failed', 'True', nowText, verdict.reason, verdict.message);
        } else this.queue.addAfter(key, 100);
      } else if (verdict.kind === 'complete') {
        await this.deletePods(job, activePods);
        conditions = setCondition(conditions, 'SuccessCriteriaMet', 'True', nowText, 'CompletionsReached', 'Reached expected number of succeeded pods');
        conditions = setCondition(conditions, 'Complete', 'True', nowText, 'CompletionsReached', 'Reached expected number of succeeded pods');
        status.completionTime = nowText;
        this.events.record(job, 'Normal', 'Completed', 'Job completed', 'job-controller');
      } else {
        if (spec.activeDeadlineSeconds !== undefined) {
          this.queue.addAfter(key, startMs + spec.activeDeadlineSeconds * 1000 - now.getTime() + 5);
        }
        if (verdict.createPods > 0) {
          const wait = this.creationBackoffRemaining(pods, counts.failed, now.getTime());
          if (wait > 0) this.queue.addAfter(key, wait);
          else {
            for (let i = 0; i < verdict.createPods; i++) await this.createPod(job);
            counts.active += verdict.createPods;
          }
        }
      }
    }

    status.active = counts.active;
    status.ready = activePods.filter(isReady).length;
    status.terminating = counts.terminating;
    if (conditions.length) status.conditions = conditions;
    for (const field of ['active', 'succeeded', 'failed'] as const) if (status[field] === 0) delete status[field];
    await this.writeStatus(job, status);
  }

  /** Moves finished pods into the counts through uncountedTerminatedPods, then releases their finalizer. */
  private async trackFinishedPods(job: KubeObject, pods: KubeObject[], status: Record<string, unknown>): Promise<void> {
    const uncounted: Uncounted = isRecord(status.uncountedTerminatedPods)
      ? { succeeded: [...((status.uncountedTerminatedPods.succeeded as string[]) ?? [])], failed: [...((status.uncountedTerminatedPods.failed as string[]) ?? [])] }
      : { succeeded: [], failed: [] };
    let changed = false;
    for (const pod of pods) {
      const uid = pod.metadata.uid ?? '';
      if (!pod.metadata.finalizers?.includes(JOB_TRACKING_FINALIZER)) continue;
      if (uncounted.succeeded.includes(uid) || uncounted.failed.includes(uid)) continue;
      const phase = phaseOf(pod);
      if (phase === 'Succeeded') uncounted.succeeded.push(uid);
      else if (phase === 'Failed') uncounted.failed.push(uid);
      else continue;
      changed = true;
    }
    if (changed) {
      status.uncountedTerminatedPods = uncounted;
      await this.writeStatus(job, status);
      job = this.registry.store.get(JOB, job.metadata.namespace, job.metadata.name ?? '') ?? job;
    }
    const pending = [...uncounted.succeeded, ...uncounted.failed];
    for (const pod of pods) {
      if (!pending.includes(pod.metadata.uid ?? '') || !pod.metadata.finalizers?.includes(JOB_TRACKING_FINALIZER)) continue;
      await this.registry
        .patch(POD, pod.metadata.namespace, pod.metadata.name ?? '', 'strategic', { metadata: { [`$deleteFromPrimitiveList/finalizers`]: [JOB_TRACKING_FINALIZER] } }, { user: CONTROLLER_USER })
        .catch(notFoundIsFine);
    }
    if (pending.length) {
      status.succeeded = Number(status.succeeded ?? 0) + uncounted.succeeded.length;
      status.failed = Number(status.failed ?? 0) + uncounted.failed.length;
      status.uncountedTerminatedPods = {};
    }
  }

  private async releaseOrphan(key: string): Promise<void> {
    const [namespace, name] = key.split('/') as [string, string];
    const pod = this.registry.store.get(POD, namespace, name);
    if (!pod || this.jobKeys.has(ownerUid(pod) ?? '') || !pod.metadata.finalizers?.includes(JOB_TRACKING_FINALIZER)) return;
    await this.registry
      .patch(POD, namespace, name, 'strategic', { metadata: { [`$deleteFromPrimitiveList/finalizers`]: [JOB_TRACKING_FINALIZER] } }, { user: CONTROLLER_USER })
      .catch(notFoundIsFine);
  }

  private creationBackoffRemaining(pods: KubeObject[], failed: number, nowMs: number): number {
    if (failed === 0) return 0;
    const lastFailure = Math.max(
      0,
      ...pods.map((p) => {
        const statuses = isRecord(p.status) && Array.isArray(p.status.containerStatuses) ? p.status.containerStatuses : [];
        return Math.max(0, ...statuses.map((c: unknown) => {
          const finished = isRecord(c) && isRecord(c.state) && isRecord(c.state.terminated) ? c.state.terminated.finishedAt : undefined;
          return typeof finished === 'string' ? Date.parse(finished) : 0;
        }));
      }),
    );
    return lastFailure + podCreationBackoffMs(failed, this.backoffBaseMs) - nowMs;
  }

  private async createPod(job: KubeObject): Promise<void> {
    const spec = isRecord(job.spec) ? job.spec : {};
    const template = isRecord(spec.template) ? spec.template : {};
    const templateMeta = isRecord(template.metadata) ? template.metadata : {};
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        ...structuredClone(templateMeta),
        generateName: `${job.metadata.name}-`,
        namespace: job.metadata.namespace,
        finalizers: [...(Array.isArray(templateMeta.finalizers) ? templateMeta.finalizers : []), JOB_TRACKING_FINALIZER],
        ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name: job.metadata.name ?? '', uid: job.metadata.uid ?? '', controller: true, blockOwnerDeletion: true }],
      },
      spec: structuredClone(template.spec),
    };
    delete (pod.metadata as Record<string, unknown>).name;
    try {
      const created = await this.registry.create(POD, job.metadata.namespace, pod, { user: CONTROLLER_USER });
      this.events.record(job, 'Normal', 'SuccessfulCreate', `Created pod: ${created.metadata.name ?? ''}`, 'job-controller');
    } catch (error) {
      this.events.record(job, 'Warning', 'FailedCreate', `Error creating: ${(error as Error).message}`, 'job-controller');
      throw error;
    }
  }

  private async deletePods(job: KubeObject, pods: KubeObject[]): Promise<void> {
    for (const pod of pods) {
      await this.registry
        .delete(POD, pod.metadata.namespace, pod.metadata.name ?? '', {}, { user: CONTROLLER_USER })
        .catch(notFoundIsFine);
      this.events.record(job, 'Normal', 'SuccessfulDelete', `Deleted pod: ${pod.metadata.name ?? ''}`, 'job-controller');
    }
  }

  private async writeStatus(job: KubeObject, status: Record<string, unknown>): Promise<void> {
    const latest = this.registry.store.get(JOB, job.metadata.namespace, job.metadata.name ?? '');
    if (!latest || JSON.stringify(latest.status ?? {}) === JSON.stringify(status)) return;
    await this.registry
      .update(JOB, job.metadata.namespace, job.metadata.name ?? '', { ...latest, status }, { user: CONTROLLER_USER }, 'status')
      .catch(notFoundIsFine);
  }
}
