/**
 * The API's view of the cluster: Jobs, their pods and Events, kept by
 * list+watch reflectors, so requests never list the cluster. Only the
 * projection the API reads is kept (`job-projection.ts`), not whole objects.
 * Status documents are memoised per Job and recomputed only when one of its
 * objects changes. Jobs that are deleted leave a tombstone with their last
 * status. Every job, live or tombstone, has its place in one order, newest
 * first, kept as jobs come and go, so a page of /jobs is a binary search
 * and a walk, never a sort.
 */
import type { CoreV1Event, V1Job, V1Pod } from '@kubernetes/client-node';
import type { KubeAccess } from '../../lib/kube/kube-access.js';
import type { Logger } from 'pino';
import type { KubeHttp } from '../../lib/kube/http.js';
import { Reflector } from '../../lib/kube/reflector.js';
import { ANNOTATIONS, isManagedJob } from '../../lib/contract.js';
import { createdOf, jobIdOf, statusInfo, type JobObjects, type StatusInfo } from '../../lib/job-status.js';
import { newestFirst, type HistoryPosition, type Selection } from '../../lib/archive/history-layout.js';
import { LruCache } from '../../lib/lru-cache.js';
import type { OrderedStatuses } from '../jobs/job-listing.js';
import { projectEvent, projectJob, projectPod } from './job-projection.js';

export interface JobCacheOptions {
  kubeConfig: KubeAccess;
  /** The part's shared client (one keep-alive agent); default: each watch its own. */
  http?: KubeHttp;
  namespace: string;
  jobNamePrefix: string;
  logger: Logger;
}

type Listener = (jobId: string) => void;

function uidOf(obj: { metadata?: { uid?: string } }): string {
  return obj.metadata?.uid ?? '';
}

function createdAt(job: V1Job): number {
  return job.metadata?.creationTimestamp ? new Date(job.metadata.creationTimestamp).getTime() : Number.MAX_SAFE_INTEGER;
}

/**
 * The Job a pod belongs to: its controlling Job ownerReference, which the Job
 * controller sets on every pod it creates. Labels alone never attribute a pod
 * (anyone who may create pods could copy them); the webhook refuses Job
 * claims from anyone but the Job controller.
 */
function jobUidOfPod(pod: V1Pod): string | undefined {
  return pod.metadata?.ownerReferences?.find((r) => r.kind === 'Job' && r.controller === true)?.uid;
}

/**
 * Jobs per list page. A page is held whole (its JSON text and the parsed
 * objects, inputs and all) until each of its Jobs is projected; 250 Jobs
 * with 2 KB of inputs are ≈ 2.5 MB of text, against 5 MB for the default
 * 500. Smaller pages cost round trips: with 10 000 Jobs in local-cluster,
 * pages of 100 tripled the time to the first sync.
 */
export const JOB_PAGE_SIZE = 250;

/** Filtered views of the job order kept (see JobCache.listedWhere). */
export const MAX_SELECTIONS = 16;

/** Deleted Jobs whose last status the API keeps in memory. */
export const MAX_TOMBSTONES = 10_000;

/** What the API remembers of a deleted Job: its last status, and its owner (until the archived record, which also has it, is read). */
interface Tombstone {
  status: StatusInfo;
  owner?: string;
}

/** Events about these kinds are joined to jobs; others in the namespace are not kept by the join. */
const EVENT_KINDS: ReadonlySet<string> = new Set(['Job', 'Pod']);

/** Index of the first position of `order` (newest first) that is not newer than `position`. */
function placeOf(order: HistoryPosition[], position: HistoryPosition): number {
  let low = 0;
  let high = order.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (newestFirst(order[mid]!, position) < 0) low = mid + 1;
    else high = mid;
  }
  return low;
}

export class JobCache {
  private readonly jobs: Reflector<V1Job>;
  private readonly pods: Reflector<V1Pod>;
  private readonly events: Reflector<CoreV1Event>;
  private readonly jobUidById = new Map<string, string>();
  private readonly jobByUid = new Map<string, V1Job>();
  private readonly podsByJobUid = new Map<string, Map<string, V1Pod>>();
  private readonly jobUidByPodUid = new Map<string, string>();
  private readonly eventsByObjectUid = new Map<string, Map<string, CoreV1Event>>();
  private readonly statusMemo = new Map<string, StatusInfo>();
  /** Last statuses of deleted Jobs. Bound: MAX_TOMBSTONES, the oldest dropped first (the archive index still lists those jobs when a bucket is configured). */
  private readonly tombstones = new Map<string, Tombstone>();
  private readonly listeners = new Set<Listener>();
  /**
   * The position of every job above (live and tombstones, one per id), newest
   * first. Bound: the live Jobs plus MAX_TOMBSTONES; a position leaves with
   * its tombstone.
   */
  private readonly order: HistoryPosition[] = [];
  private readonly positionById = new Map<string, HistoryPosition>();
  private readonly ordered: OrderedStatuses = this.orderView();
  /** Counts changes to any job (status, place, presence): what a selection was made at. */
  private changes = 0;
  /**
   * Selections of the order (see listedWhere), each as made at `changes`.
   * Bound: MAX_SELECTIONS, the least recently used dropped; each at most one
   * reference per known job.
   */
  private readonly selections = new LruCache<string, { at: number; jobs: StatusInfo[] }>(MAX_SELECTIONS, () => 1);

  constructor(private readonly options: JobCacheOptions) {
    const { kubeConfig, namespace, logger } = options;
    const base = { kubeConfig, logger, ...(options.http ? { http: options.http } : {}) };
    this.jobs = new Reflector<V1Job>({
      ...base,
      path: `/apis/batch/v1/namespaces/${namespace}/jobs`,
      // A Job carries its inputs twice (annotation and env): pages of JOB_PAGE_SIZE keep the raw JSON held at once small.
      pageSize: JOB_PAGE_SIZE,
      deserialize: projectJob,
      onEvent: (type, job) => this.jobChanged(type, job),
    });
    this.pods = new Reflector<V1Pod>({
      ...base,
      path: `/api/v1/namespaces/${namespace}/pods`,
      // Every Job's pods carry job-name; this keeps unrelated pods out of the cache.
      labelSelector: 'job-name',
      deserialize: projectPod,
      onEvent: (type, pod) => this.podChanged(type, pod),
    });
    this.events = new Reflector<CoreV1Event>({
      ...base,
      path: `/api/v1/namespaces/${namespace}/events`,
      deserialize: projectEvent,
      onEvent: (type, event) => this.eventChanged(type, event),
    });
  }

  async start(): Promise<void> {
    await Promise.all([this.jobs.start(), this.pods.start(), this.events.start()]);
  }

  async stop(): Promise<void> {
    await Promise.all([this.jobs.stop(), this.pods.stop(), this.events.stop()]);
  }

  get synced(): boolean {
    return this.jobs.synced && this.pods.synced && this.events.synced;
  }

  /** Called with the job id whenever anything about that job changes. */
  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  job(jobId: string): V1Job | undefined {
    const uid = this.jobUidById.get(jobId);
    return uid ? this.jobByUid.get(uid) : undefined;
  }

  objects(job: V1Job): JobObjects {
    const uid = uidOf(job);
    const pods = [...(this.podsByJobUid.get(uid)?.values() ?? [])];
    const events = [uid, ...pods.map(uidOf)].flatMap((u) => [...(this.eventsByObjectUid.get(u)?.values() ?? [])]);
    return { job, pods, events };
  }

  status(jobId: string): StatusInfo | undefined {
    const uid = this.jobUidById.get(jobId);
    if (!uid) return this.tombstones.get(jobId)?.status;
    let memo = this.statusMemo.get(uid);
    if (!memo) {
      memo = statusInfo(this.objects(this.jobByUid.get(uid)!), this.options.jobNamePrefix);
      this.statusMemo.set(uid, memo);
    }
    return memo;
  }

  /**
   * The owner annotation of a job, live or recently deleted: a Job deleted
   * before its archived record lands keeps its owner, so access to it does
   * not change in between.
   */
  owner(jobId: string): string | undefined {
    const job = this.job(jobId);
    if (job) return job.metadata?.annotations?.[ANNOTATIONS.owner];
    return this.tombstones.get(jobId)?.owner;
  }

  /** Every known job, live and recently deleted, newest first: a view of the order kept, not a copy. */
  listed(): OrderedStatuses {
    return this.ordered;
  }

  /**
   * The known jobs a selection keeps, newest first: made once after each
   * change of the cache and kept for the next request with the same
   * selection, so a filtered page walks only matching jobs.
   */
  listedWhere(selection: Selection): OrderedStatuses {
    const held = this.selections.get(selection.key);
    if (held && held.at === this.changes) return held.jobs;
    const jobs: StatusInfo[] = [];
    for (const position of this.order) {
      const status = this.status(position.jobID)!;
      if (selection.keeps(status)) jobs.push(status);
    }
    this.selections.set(selection.key, { at: this.changes, jobs });
    return jobs;
  }

  /** Status of every known job, live and recently deleted, newest first (a new array: O(jobs)). */
  allStatuses(): StatusInfo[] {
    return this.order.map((position) => this.status(position.jobID)!);
  }

  private orderView(): OrderedStatuses {
    const order = this.order;
    return {
      get length(): number {
        return order.length;
      },
      at: (index) => {
        const position = order[index];
        return position ? this.status(position.jobID) : undefined;
      },
    };
  }

  /** Puts the job at its place in the order (moving it if its creation time changed). */
  private place(jobId: string, created: string | undefined): void {
    const current = this.positionById.get(jobId);
    if (current && current.created === created) return;
    if (current) this.unplace(jobId);
    this.changes++;
    const position: HistoryPosition = { created: created ?? '', jobID: jobId };
    this.order.splice(placeOf(this.order, position), 0, position);
    this.positionById.set(jobId, position);
  }

  private unplace(jobId: string): void {
    const position = this.positionById.get(jobId);
    if (!position) return;
    this.changes++;
    const at = placeOf(this.order, position);
    if (this.order[at] === position) this.order.splice(at, 1);
    this.positionById.delete(jobId);
  }

  private notify(jobId: string): void {
    this.changes++;
    for (const listener of this.listeners) listener(jobId);
  }

  private touchJobUid(uid: string | undefined): void {
    if (!uid) return;
    this.statusMemo.delete(uid);
    const job = this.jobByUid.get(uid);
    if (job) this.notify(jobIdOf(job, this.options.jobNamePrefix));
  }

  private jobChanged(type: string, job: V1Job): void {
    if (!isManagedJob(job.metadata, this.options.jobNamePrefix)) return;
    const uid = uidOf(job);
    const id = jobIdOf(job, this.options.jobNamePrefix);
    if (type === 'DELETED') {
      if (this.jobUidById.get(id) !== uid) return; // an ignored claimant (see below) leaves no trace
      // The last word on a deleted Job: its final objects, and deleted (so an unfinished one is dismissed).
      const owner = job.metadata?.annotations?.[ANNOTATIONS.owner];
      this.tombstones.set(id, { status: statusInfo({ ...this.objects(job), deleted: true }, this.options.jobNamePrefix), ...(owner !== undefined ? { owner } : {}) });
      for (const oldest of this.tombstones.keys()) {
        if (this.tombstones.size <= MAX_TOMBSTONES) break;
        this.tombstones.delete(oldest);
        this.unplace(oldest);
      }
      this.jobUidById.delete(id);
      this.jobByUid.delete(uid);
      this.statusMemo.delete(uid);
      this.notify(id);
      return;
    }
    // One id, one Job: a Job claiming an id another Job holds (made while the
    // webhook was down, which fails open) never takes it over; the older keeps it.
    const holder = this.jobUidById.get(id);
    const holderJob = holder !== undefined && holder !== uid ? this.jobByUid.get(holder) : undefined;
    if (holderJob) {
      if (createdAt(holderJob) <= createdAt(job)) {
        this.options.logger.warn({ jobId: id, job: job.metadata?.name, holder: holderJob.metadata?.name }, 'a Job claims the id of another Job; ignored');
        return;
      }
      this.jobByUid.delete(holder!);
      this.statusMemo.delete(holder!);
    }
    this.tombstones.delete(id);
    this.jobUidById.set(id, uid);
    this.jobByUid.set(uid, job);
    this.place(id, createdOf(job));
    this.touchJobUid(uid);
  }

  private podChanged(type: string, pod: V1Pod): void {
    const jobUid = jobUidOfPod(pod);
    if (!jobUid) return;
    let pods = this.podsByJobUid.get(jobUid);
    if (!pods) this.podsByJobUid.set(jobUid, (pods = new Map()));
    if (type === 'DELETED') {
      pods.delete(uidOf(pod));
      this.jobUidByPodUid.delete(uidOf(pod));
    } else {
      pods.set(uidOf(pod), pod);
      this.jobUidByPodUid.set(uidOf(pod), jobUid);
    }
    if (pods.size === 0) this.podsByJobUid.delete(jobUid);
    this.touchJobUid(jobUid);
  }

  private eventChanged(type: string, event: CoreV1Event): void {
    const objectUid = event.involvedObject?.uid;
    if (!objectUid || !EVENT_KINDS.has(event.involvedObject?.kind ?? '')) return;
    let events = this.eventsByObjectUid.get(objectUid);
    if (!events) this.eventsByObjectUid.set(objectUid, (events = new Map()));
    if (type === 'DELETED') events.delete(uidOf(event));
    else events.set(uidOf(event), event);
    if (events.size === 0) this.eventsByObjectUid.delete(objectUid);
    this.touchJobUid(this.jobByUid.has(objectUid) ? objectUid : this.jobUidByPodUid.get(objectUid));
  }
}
