/**
 * Leader election on a coordination.k8s.io/v1 Lease, the way client-go does
 * it: every write carries the resourceVersion it read (optimistic
 * concurrency); a lease is taken over only after its record stayed unchanged
 * for a whole lease duration as measured by our own clock (so clock skew
 * between replicas does not matter); stop() releases the lease so failover
 * is immediate.
 *
 * The leader renews every retry period with the lease it last wrote (one
 * request). A failed renewal is retried, not given up: transient failures
 * (5xx, 429, timeouts, connection resets: an API server under load) after a
 * jittered back-off, a conflict (409) after reading the lease again. It
 * steps down only when it could not renew within the renew deadline since
 * the start of its last successful renewal, or when it reads the lease held
 * by another. Others take over no earlier than a lease duration after they
 * saw that renewal, so with renewDeadline < leaseDuration a leader has
 * always stopped before anyone else starts. Every such time is measured on
 * a monotonic clock (performance.now), never the wall clock, which may jump.
 */
import type { KubeAccess } from './kube-access.js';
import type { Logger } from 'pino';
import { performance } from 'node:perf_hooks';
import { backoffDelay, sleep } from './backoff.js';
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
  /** Milliseconds on a monotonic clock (tests may drive it); default performance.now. */
  clock?: () => number;
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

/** Why a renewal failed, as far as retrying it goes. */
export type RenewFailure = 'transient' | 'conflict' | 'refused';

/**
 * Transient: the server or the network (5xx, 429, 408, a timeout, a reset
 * connection), worth a quick retry. Conflict: the lease changed since we
 * read it. Refused: any other answer (403, 404, 422), retried at the retry
 * period in case it passes (RBAC being applied, the lease deleted).
 */
export function renewFailureOf(error: unknown): RenewFailure {
  if (isApiError(error, 409)) return 'conflict';
  if (isApiError(error)) return error.code >= 500 || error.code === 429 || error.code === 408 ? 'transient' : 'refused';
  return 'transient';
}

export interface ElectionTiming {
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
}

export interface RenewState {
  /** Since the start (monotonic) of the last successful renewal. */
  sinceRenewMs: number;
  /** How the renewal just tried went: renewed, the lease read held by another, or how it failed. */
  outcome: 'renewed' | 'lost' | RenewFailure;
  /** Failed renewals in a row, this one included (0 after a renewal). */
  failures: number;
  /** What the server asked for (Retry-After of a 429 or 503). */
  retryAfterMs?: number;
}

export type RenewStep =
  | { action: 'keep'; delayMs: number }
  | { action: 'retry'; delayMs: number; reread: boolean }
  | { action: 'step-down'; why: string };

/**
 * What a leader does after a renewal attempt. Pure. It keeps leading while
 * it renews; a failure is retried within what is left of the renew
 * deadline (never past it: the retry is brought forward); past the deadline,
 * or with the lease held by another, it steps down.
 */
export function renewStep(timing: ElectionTiming, state: RenewState, random: () => number = Math.random): RenewStep {
  if (state.outcome === 'renewed') return { action: 'keep', delayMs: timing.retryPeriodMs };
  if (state.outcome === 'lost') return { action: 'step-down', why: 'another replica holds the lease' };
  const left = timing.renewDeadlineMs - state.sinceRenewMs;
  if (left <= 0) return { action: 'step-down', why: `could not renew the lease within the renew deadline (${state.failures} failed attempts)` };
  // An eighth of the retry period, doubling per failure, up to half of it (one request each: a burst is ridden out with
  // twice the attempts a steady retry period gives); jittered so that retries do not come in lockstep.
  const backoff = backoffDelay({ baseMs: timing.retryPeriodMs / 8, maxMs: timing.retryPeriodMs / 2 }, state.failures, random);
  const wanted =
    state.outcome === 'conflict'
      ? state.failures === 1 ? 0 : backoff
      : state.outcome === 'transient'
        ? Math.max(backoff, state.retryAfterMs ?? 0)
        : timing.retryPeriodMs;
  return { action: 'retry', delayMs: Math.min(wanted, left), reread: state.outcome !== 'transient' };
}

export class LeaderElector {
  private readonly http: KubeHttp;
  private readonly timing: ElectionTiming;
  private readonly clock: () => number;
  private leading = false;
  private holder: string | undefined;
  /** The lease as we last read or wrote it: a leader renews it without reading it again. */
  private lease: Lease | undefined;
  /** When (monotonic) the last successful renewal or acquisition started. */
  private renewedAt = 0;
  /** Steps down at renewedAt + renewDeadline, even with a request in flight. */
  private deadline: NodeJS.Timeout | undefined;
  /** Aborted when leadership ends: cancels the renewal in flight. */
  private term = new AbortController();
  /** The lease record as last read, and when (monotonic) it last changed. */
  private observed: { record: string; at: number } | undefined;
  private stopped = false;
  private readonly stopController = new AbortController();
  private loop: Promise<void> | undefined;

  constructor(private readonly options: LeaderElectorOptions) {
    this.http = options.http ?? new KubeHttp(options.kubeConfig);
    this.clock = options.clock ?? (() => performance.now());
    this.timing = {
      leaseDurationMs: (options.leaseDurationSeconds ?? 15) * 1000,
      renewDeadlineMs: (options.renewDeadlineSeconds ?? 10) * 1000,
      retryPeriodMs: (options.retryPeriodSeconds ?? 2) * 1000,
    };
    const { leaseDurationMs, renewDeadlineMs, retryPeriodMs } = this.timing;
    if (!(leaseDurationMs > renewDeadlineMs && renewDeadlineMs > retryPeriodMs && retryPeriodMs > 0)) {
      throw new Error('leader election needs leaseDuration > renewDeadline > retryPeriod > 0');
    }
  }

  /** Leading, and renewed within the renew deadline (checked here too, in case the event loop stalled past the deadline timer). */
  get isLeader(): boolean {
    return this.leading && this.clock() - this.renewedAt < this.timing.renewDeadlineMs;
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
    clearTimeout(this.deadline);
    if (this.leading) {
      await this.release();
      this.stepDown('stopped');
    }
    if (!this.options.http) this.http.close();
  }

  private async run(firstAttempt: () => void): Promise<void> {
    while (!this.stopped) {
      if (this.leading) {
        await this.keepLeading();
        continue;
      }
      const acquired = await this.tryAcquire();
      firstAttempt();
      if (this.stopped) return;
      if (acquired) {
        this.startLeading();
        continue;
      }
      // Jitter while following, so candidates do not collide.
      await sleep(this.timing.retryPeriodMs * (1 + Math.random() * 0.2), this.stopController.signal);
    }
  }

  /** Renews every retry period until it steps down (renewStep decides) or stops. */
  private async keepLeading(): Promise<void> {
    const { logger, name } = this.options;
    let step: RenewStep = { action: 'keep', delayMs: this.timing.retryPeriodMs };
    let failures = 0;
    let firstFailureAt = 0;
    const signal = AbortSignal.any([this.stopController.signal, this.term.signal]);
    while (this.leading && !this.stopped) {
      await sleep(step.delayMs, signal);
      if (!this.leading || this.stopped) return;
      const startedAt = this.clock();
      let state: RenewState;
      try {
        const outcome = await this.renew(step.action === 'retry' && step.reread, startedAt, signal);
        if (outcome === 'renewed' && failures > 0) {
          logger.info({ lease: name, failures, afterMs: Math.round(this.clock() - firstFailureAt) }, 'renewed the lease after failed attempts');
        }
        failures = 0;
        state = { sinceRenewMs: this.clock() - this.renewedAt, outcome, failures };
      } catch (error) {
        // Stopped, or the deadline passed with the request in flight (the deadline timer stepped down).
        if (!this.leading || this.stopped) return;
        if (failures++ === 0) firstFailureAt = startedAt;
        const retryAfterSeconds = isApiError(error) ? error.retryAfterSeconds : undefined;
        state = {
          sinceRenewMs: this.clock() - this.renewedAt,
          outcome: renewFailureOf(error),
          failures,
          ...(retryAfterSeconds !== undefined ? { retryAfterMs: retryAfterSeconds * 1000 } : {}),
        };
        // The first failure of a run is worth a warning; the retries after it are expected.
        logger[failures === 1 ? 'warn' : 'debug']({ err: error, lease: name, failures, kind: state.outcome }, 'renewing the lease failed; retrying');
      }
      step = renewStep(this.timing, state);
      if (step.action === 'step-down') {
        this.stepDown(step.why);
        return;
      }
    }
  }

  private startLeading(): void {
    this.leading = true;
    this.term = new AbortController();
    this.options.logger.info({ lease: this.options.name, identity: this.options.identity }, 'became leader');
    this.safely(this.options.onStartedLeading);
  }

  /** A renewal (or acquisition) that started at `startedAt` succeeded: the renew deadline counts from then. */
  private renewed(startedAt: number): void {
    this.renewedAt = startedAt;
    clearTimeout(this.deadline);
    this.deadline = setTimeout(
      () => this.stepDown('could not renew the lease within the renew deadline'),
      Math.max(0, startedAt + this.timing.renewDeadlineMs - this.clock()),
    );
  }

  private stepDown(why: string): void {
    clearTimeout(this.deadline);
    if (!this.leading) return;
    this.leading = false;
    this.term.abort();
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

  /** What is left of the renew deadline: no request of a leader outlasts it. */
  private leaderTimeoutMs(): number {
    return Math.max(1, Math.ceil(this.renewedAt + this.timing.renewDeadlineMs - this.clock()));
  }

  /**
   * One renewal: writes the lease as last known (after reading it again when
   * asked, or when there is none); 'lost' if it is read held by another.
   * Throws what the API answered.
   */
  private async renew(reread: boolean, startedAt: number, signal: AbortSignal): Promise<'renewed' | 'lost'> {
    const { identity, name } = this.options;
    let lease = this.lease;
    if (reread || !lease) {
      lease = await this.http.request<Lease>({ path: `${this.leasePath}/${name}`, timeoutMs: this.leaderTimeoutMs(), signal });
      this.lease = lease;
      this.noteHolder(lease.spec?.holderIdentity);
      if (lease.spec?.holderIdentity !== identity) return 'lost';
    }
    await this.write(lease, new Date(), this.leaderTimeoutMs(), signal);
    this.renewed(startedAt);
    return 'renewed';
  }

  private async write(lease: Lease, now: Date, timeoutMs: number, signal: AbortSignal): Promise<void> {
    const updated = await this.http.request<Lease>({
      method: 'PUT',
      path: `${this.leasePath}/${this.options.name}`,
      body: { ...lease, spec: this.spec(now, lease.spec) },
      timeoutMs,
      signal,
    });
    this.lease = updated;
    this.holder = this.options.identity;
    this.observed = { record: recordOf(updated.spec), at: this.clock() };
  }

  private noteHolder(holderIdentity: string | undefined): void {
    this.holder = holderIdentity || undefined;
  }

  /** A follower's round: read the lease, take it if it is free, ours or expired; true when we hold it afterwards. */
  private async tryAcquire(): Promise<boolean> {
    const { identity, name, namespace, logger } = this.options;
    const signal = this.stopController.signal;
    // A round never outlasts the renew deadline, so an acquisition that took long still leaves its leader time to renew.
    const timeoutMs = this.timing.renewDeadlineMs;
    try {
      let lease: Lease;
      try {
        lease = await this.http.request<Lease>({ path: `${this.leasePath}/${name}`, timeoutMs, signal });
      } catch (error) {
        if (!isApiError(error, 404)) throw error;
        const startedAt = this.clock();
        this.lease = await this.http.request<Lease>({
          method: 'POST',
          path: this.leasePath,
          body: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name, namespace }, spec: this.spec(new Date(), undefined) },
          timeoutMs,
          signal,
        });
        this.holder = identity;
        this.observed = undefined;
        this.renewed(startedAt);
        return true;
      }
      this.lease = lease;
      const spec = lease.spec ?? {};
      const record = recordOf(spec);
      const seenAt = this.clock();
      if (!this.observed || this.observed.record !== record) this.observed = { record, at: seenAt };
      this.noteHolder(spec.holderIdentity);
      const heldByOther = spec.holderIdentity && spec.holderIdentity !== identity;
      if (heldByOther && this.observed.at + this.timing.leaseDurationMs > seenAt) return false;
      const startedAt = this.clock();
      await this.write(lease, new Date(), timeoutMs, signal);
      this.renewed(startedAt);
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
      leaseDurationSeconds: Math.max(1, Math.ceil(this.timing.leaseDurationMs / 1000)),
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

/** What identifies a version of the lease record, to tell whether it changed. */
function recordOf(spec: LeaseSpec | undefined): string {
  return JSON.stringify([spec?.holderIdentity, spec?.renewTime, spec?.acquireTime, spec?.leaseTransitions]);
}
