/**
 * Delivers OGC callbacks: only while this replica leads (a Lease), from the
 * watch cache, one keyed work item per job; each delivered state is recorded
 * on the Job before the next one is sent. Delivery is at least once: a crash
 * between the POST and the record can repeat one callback, never lose it.
 * A failing callback is retried with back-off a bounded number of times and
 * for a bounded time; a refused one (a non-public address, a redirect, a
 * 4xx) is not retried. Either way the state is recorded as done, a Warning
 * Event goes on the Job and a metric counts it.
 */
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import type { V1Job } from '@kubernetes/client-node';
import { ANNOTATIONS } from '../../lib/contract.js';
import { WorkQueue } from '../../lib/work-queue.js';
import type { JobCache } from '../kube/job-cache.js';
import { omittedAnnotations } from '../kube/job-projection.js';
import type { JobClient } from '../kube/job-client.js';
import { callbackDue, parseSent, parseSubscriber, type CallbackDue } from './plan.js';
import type { StatusInfo } from '../../lib/job-status.js';
import { CallbackRefused, postCallback, type Resolver } from './post-callback.js';
import { redactUrl, type CallbackPolicy } from './subscriber-url.js';
import { DEFAULT_BACKOFF, nextRetry, type RetryPolicy } from './retry.js';

export const CALLBACK_EVENT_REASONS = { refused: 'CallbackRefused', gaveUp: 'CallbackGaveUp' } as const;

export interface CallbackSenderOptions {
  jobs: JobCache;
  client: JobClient;
  logger: Logger;
  metrics: Registry;
  policy: CallbackPolicy;
  retry: Pick<RetryPolicy, 'maxAttempts' | 'horizonMs'> & Partial<RetryPolicy>;
  /** Whole exchange per attempt. */
  timeoutMs: number;
  /** Tests resolve names their own way; default: the system resolver. */
  resolver?: Resolver;
  /** The results document of a successful job. */
  results(jobId: string): Promise<unknown>;
  /** Status document with links, as GET /jobs/{id} returns it. */
  statusDocument(status: StatusInfo): unknown;
}

interface Failures {
  attempts: number;
  first: number;
}

export class CallbackSender {
  private readonly queue: WorkQueue;
  /**
   * Failed attempts per job and state. Bound: an entry lives only while its
   * callback is being retried (at most maxAttempts, within the horizon) and
   * is removed on delivery, on giving up and when the job leaves the cache.
   */
  private readonly failures = new Map<string, Failures>();
  private readonly retry: RetryPolicy;
  private readonly gaveUp: Counter<'reason'>;
  private readonly delivered: Counter;
  private unsubscribe: (() => void) | undefined;
  private leading = false;

  constructor(private readonly options: CallbackSenderOptions) {
    this.retry = { ...DEFAULT_BACKOFF, ...options.retry };
    this.queue = new WorkQueue((jobId) => this.deliver(jobId), {
      concurrency: 4,
      baseDelayMs: 1000,
      maxDelayMs: 5 * 60_000,
      onError: (jobId, error, attempt) => options.logger.warn({ jobId, attempt, err: error }, 'callback bookkeeping failed; will retry'),
    });
    this.gaveUp = new Counter({
      name: 'ogc_callbacks_given_up_total',
      help: 'Callbacks not delivered: refused (address, scheme, redirect, 4xx) or failing past the retry bounds',
      labelNames: ['reason'] as const,
      registers: [options.metrics],
    });
    this.delivered = new Counter({ name: 'ogc_callbacks_delivered_total', help: 'Callbacks delivered', registers: [options.metrics] });
  }

  start(): void {
    this.unsubscribe = this.options.jobs.subscribe((jobId) => {
      if (this.leading) this.queue.add(jobId);
    });
  }

  /** Leadership changes: a new leader looks at every job once. */
  setLeading(leading: boolean): void {
    this.leading = leading;
    if (leading) for (const status of this.options.jobs.allStatuses()) this.queue.add(status.jobID);
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
    await this.queue.shutdown();
  }

  private forget(jobId: string): void {
    for (const key of this.failures.keys()) if (key.startsWith(`${jobId}/`)) this.failures.delete(key);
  }

  private async deliver(jobId: string): Promise<void> {
    if (!this.leading) return;
    const cached = this.options.jobs.job(jobId);
    const status = this.options.jobs.status(jobId);
    if (!cached || !status) return this.forget(jobId);
    // Most jobs have no subscriber, or nothing due: the cache says so without a read (a new
    // leader looks at every job). What it shows as sent only lags behind, never ahead, so a
    // callback it shows as not due is not due.
    if (!omittedAnnotations(cached).includes(ANNOTATIONS.subscriber)) {
      const cachedAnnotations = cached.metadata?.annotations ?? {};
      const cachedSubscriber = parseSubscriber(cachedAnnotations[ANNOTATIONS.subscriber]);
      if (!cachedSubscriber || !callbackDue(status.status, cachedSubscriber, parseSent(cachedAnnotations[ANNOTATIONS.callbacksSent]))) return;
    }
    // The delivery record is read fresh: the watch cache may not have seen our last write yet.
    const job = await this.options.client.read(cached.metadata?.name ?? '');
    if (!job) return this.forget(jobId);
    const annotations = job.metadata?.annotations ?? {};
    const subscriber = parseSubscriber(annotations[ANNOTATIONS.subscriber]);
    if (!subscriber) return;
    const sent = parseSent(annotations[ANNOTATIONS.callbacksSent]);
    const due = callbackDue(status.status, subscriber, sent);
    if (!due) return;
    const key = `${jobId}/${due.state}`;
    const shown = redactUrl(due.uri);
    try {
      const body = due.body === 'results' ? await this.options.results(jobId) : this.options.statusDocument(status);
      await postCallback(due.uri, JSON.stringify(body), {
        policy: this.options.policy,
        ...(this.options.resolver ? { resolver: this.options.resolver } : {}),
        connectTimeoutMs: Math.min(5000, this.options.timeoutMs),
        totalTimeoutMs: this.options.timeoutMs,
      });
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (error instanceof CallbackRefused) return this.abandon(job, jobId, due, 'refused', `callback for state ${due.state} to ${shown} refused: ${message}`);
      const failures = this.failures.get(key) ?? { attempts: 0, first: Date.now() };
      failures.attempts++;
      this.failures.set(key, failures);
      const decision = nextRetry(failures.attempts, failures.first, Date.now(), this.retry, Math.random());
      if ('giveUp' in decision) return this.abandon(job, jobId, due, 'gave-up', `callback for state ${due.state} to ${shown} given up: ${decision.giveUp}; last error: ${message}`);
      this.options.logger.warn({ jobId, state: due.state, to: shown, attempt: failures.attempts, retryInMs: decision.retryInMs, error: message }, 'callback failed; will retry');
      this.queue.addAfter(jobId, decision.retryInMs);
      return;
    }
    this.failures.delete(key);
    await this.record(job, due);
    this.delivered.inc();
    this.options.logger.info({ jobId, state: due.state, to: shown }, 'callback delivered');
  }

  private async record(job: V1Job, due: CallbackDue): Promise<void> {
    await this.options.client.recordCallbackSent(job.metadata?.name ?? '', (current) => [...new Set([...parseSent(current), due.state])].join(','));
  }

  /** Not delivered, and not tried again: recorded like a delivery so no replica retries it; the Event and the log say why. */
  private async abandon(job: V1Job, jobId: string, due: CallbackDue, reason: 'refused' | 'gave-up', message: string): Promise<void> {
    this.failures.delete(`${jobId}/${due.state}`);
    this.options.logger.warn({ jobId, state: due.state, reason }, message);
    this.gaveUp.inc({ reason });
    await this.options.client.jobEvent(job, 'Warning', reason === 'refused' ? CALLBACK_EVENT_REASONS.refused : CALLBACK_EVENT_REASONS.gaveUp, message);
    await this.record(job, due);
  }
}
