/**
 * Leader election on a coordination.k8s.io/v1 Lease, the way client-go does
 * it: every write carries the resourceVersion it read (optimistic
 * concurrency); a lease is taken over only after its record stayed unchanged
 * for a whole lease duration as measured by our own clock (so clock skew
 * between replicas does not matter); a leader that cannot renew within the
 * renew deadline steps down before anyone else may take over
 * (renewDeadline < leaseDuration); stop() releases the lease so failover is
 * immediate.
 */
import type { KubeAccess } from './kube-access.js';
import type { Logger } from 'pino';
import { sleep } from './backoff.js';
import { KubeHttp, isApiError } from './http.js';

export interface LeaderElectorOptions {
  kubeConfig: KubeAccess;
  /** The part's shared client (one keep-alive agent per part; its owner closes it); default: one of its own. */
  http?: KubeHttp;
  namespace: string;
  /** Name of the Lease object. */
  name: string;
  /** This replica's identity (unique among replicas, e.g. the pod name). */
  identity: string;
  leaseDurationSeconds?: number;
  renewDeadlineSeconds?: number;
  retryPeriodSeconds?: number;
  logger: Logger;
  onStartedLeading?: () => void;
  onStoppedLeading?: () => void;
}

interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

interface Lease {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; resourceVersion?: string };
  spec?: LeaseSpec;
}

/** RFC 3339 with microseconds, the MicroTime format of Lease times. */
export function microTime(date: Date): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

export class LeaderElector {
  private readonly http: KubeHttp;
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private leading = false;
  private holder: string | undefined;
  /** The lease record as last read, and when (our clock) it last changed. */
  private observed: { record: string; at: number } | undefined;
  private stopped = false;
  private readonly stopController = new AbortController();
  private loop: Promise<void> | undefined;

  constructor(private readonly options: LeaderElectorOptions) {
    this.http = options.http ?? new KubeHttp(options.kubeConfig);
    this.leaseDurationMs = (options.leaseDurationSeconds ?? 15) * 1000;
    this.renewDeadlineMs = (options.renewDeadlineSeconds ?? 10) * 1000;
    this.retryPeriodMs = (options.retryPeriodSeconds ?? 2) * 1000;
    if (!(this.leaseDurationMs > this.renewDeadlineMs && this.renewDeadlineMs > this.retryPeriodMs && this.retryPeriodMs > 0)) {
      throw new Error('leader election needs leaseDuration > renewDeadline > retryPeriod > 0');
    }
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /** Identity of the current holder as last observed (undefined: none or unknown). */
  get leader(): string | undefined {
    return this.holder;
  }

  /** Starts campaigning; resolves after the first attempt to acquire (so `leader` is known). */
  async start(): Promise<void> {
    if (this.loop) throw new Error('leader elector already started');
    let firstAttempt!: () => void;
    const attempted = new Promise<void>((resolve) => {
      firstAttempt = resolve;
    });
    this.loop = this.run(firstAttempt).finally(firstAttempt);
    await attempted;
  }

  /** Stops campaigning; a leader releases the lease first, so another replica takes over at once. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.stopController.abort();
    await this.loop;
    if (this.leading) {
      await this.release();
      this.stepDown('stopped');
    }
    if (!this.options.http) this.http.close();
  }

  private async run(firstAttempt: () => void): Promise<void> {
    let deadline: NodeJS.Timeout | undefined;
    try {
      while (!this.stopped) {
        const roundStart = Date.now();
        const succeeded = await this.tryAcquireOrRenew();
        firstAttempt();
        if (this.stopped) return;
        if (succeeded) {
          // Others may take over once the record has not changed for a lease duration from when they saw it,
          // which is after this round started: stepping down renewDeadline after the round start is always earlier.
          clearTimeout(deadline);
          deadline = setTimeout(() => this.stepDown('could not renew the lease within the renew deadline'), roundStart + this.renewDeadlineMs - Date.now());
          if (!this.leading) {
            this.leading = true;
            this.options.logger.info({ lease: this.options.name, identity: this.options.identity }, 'became leader');
            this.safely(this.options.onStartedLeading);
          }
        }
        // Jitter only while following, so candidates do not collide; a leader renews on time.
        await sleep(this.leading ? this.retryPeriodMs : this.retryPeriodMs * (1 + Math.random() * 0.2), this.stopController.signal);
      }
    } finally {
      clearTimeout(deadline);
    }
  }

  private stepDown(why: string): void {
    if (!this.leading) return;
    this.leading = false;
    // Stepping down on shutdown is routine; losing the lease otherwise is worth a warning.
    this.options.logger[why === 'stopped' ? 'info' : 'warn']({ lease: this.options.name, identity: this.options.identity, why }, 'stopped leading');
    this.safely(this.options.onStoppedLeading);
  }

  private safely(callback: (() => void) | undefined): void {
    try {
      callback?.();
    } catch (error) {
      this.options.logger.error({ err: error }, 'leader election callback failed');
    }
  }

  private get leasePath(): string {
    return `/apis/coordination.k8s.io/v1/namespaces/${this.options.namespace}/leases`;
  }

  /** One round: read the lease, take or renew it if allowed; true when we hold it afterwards. */
  private async tryAcquireOrRenew(): Promise<boolean> {
    const { identity, name, namespace, logger } = this.options;
    const now = new Date();
    // A round never outlasts the renew deadline, so a hung request cannot keep a leader past it.
    const timeoutMs = this.renewDeadlineMs;
    try {
      let lease: Lease;
      try {
        lease = await this.http.request<Lease>({ path: `${this.leasePath}/${name}`, timeoutMs, signal: this.stopController.signal });
      } catch (error) {
        if (!isApiError(error, 404)) throw error;
        await this.http.request<Lease>({
          method: 'POST',
          path: this.leasePath,
          body: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name, namespace }, spec: this.spec(now, undefined) },
          timeoutMs,
          signal: this.stopController.signal,
        });
        this.holder = identity;
        this.observed = undefined;
        return true;
      }
      const spec = lease.spec ?? {};
      const record = JSON.stringify([spec.holderIdentity, spec.renewTime, spec.acquireTime, spec.leaseTransitions]);
      if (!this.observed || this.observed.record !== record) this.observed = { record, at: now.getTime() };
      this.holder = spec.holderIdentity || undefined;
      const heldByOther = spec.holderIdentity && spec.holderIdentity !== identity;
      if (heldByOther && this.observed.at + this.leaseDurationMs > now.getTime()) return false;
      const updated = await this.http.request<Lease>({
        method: 'PUT',
        path: `${this.leasePath}/${name}`,
        body: { ...lease, spec: this.spec(now, spec) },
        timeoutMs,
        signal: this.stopController.signal,
      });
      const updatedSpec = updated.spec ?? {};
      this.observed = {
        record: JSON.stringify([updatedSpec.holderIdentity, updatedSpec.renewTime, updatedSpec.acquireTime, updatedSpec.leaseTransitions]),
        at: now.getTime(),
      };
      this.holder = identity;
      return true;
    } catch (error) {
      if (!this.stopped) {
        // 409: someone else wrote the lease since we read it; they win this round.
        const level = isApiError(error, 409) ? 'debug' : 'warn';
        logger[level]({ err: error, lease: name }, 'leader election round failed');
      }
      return false;
    }
  }

  private spec(now: Date, current: LeaseSpec | undefined): LeaseSpec {
    const time = microTime(now);
    const ours = current?.holderIdentity === this.options.identity;
    return {
      holderIdentity: this.options.identity,
      leaseDurationSeconds: Math.max(1, Math.ceil(this.leaseDurationMs / 1000)),
      acquireTime: ours && current?.acquireTime ? current.acquireTime : time,
      renewTime: time,
      leaseTransitions: (current?.leaseTransitions ?? 0) + (current && !ours ? 1 : 0),
    };
  }

  /** Gives the lease up (empty holder), if we still hold it. */
  private async release(): Promise<void> {
    const { name, identity, logger } = this.options;
    try {
      const lease = await this.http.request<Lease>({ path: `${this.leasePath}/${name}`, timeoutMs: 5_000 });
      if (lease.spec?.holderIdentity !== identity) return;
      const time = microTime(new Date());
      await this.http.request({
        method: 'PUT',
        path: `${this.leasePath}/${name}`,
        body: { ...lease, spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: time } },
        timeoutMs: 5_000,
      });
      this.holder = undefined;
      logger.info({ lease: name, identity }, 'released the lease');
    } catch (error) {
      logger.warn({ err: error, lease: name }, 'could not release the lease; others take over once it expires');
    }
  }
}
