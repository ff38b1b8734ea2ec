/**
 * Delivers OGC callbacks: only while this replica leads (a Lease), from the
 * watch cache, one keyed work item per job, retried with back-off; each
 * delivered state is recorded on the Job before the next one is sent.
 * Delivery is at least once: a crash between the POST and the record can
 * repeat one callback, never lose it.
 */
import type { Logger } from 'pino';
import { ANNOTATIONS } from '../../lib/contract.js';
import { WorkQueue } from '../../lib/work-queue.js';
import type { JobCache } from '../kube/job-cache.js';
import type { JobClient } from '../kube/job-client.js';
import { callbackDue, parseSent, parseSubscriber } from './plan.js';
import type { StatusInfo } from '../../lib/job-status.js';

export interface CallbackSenderOptions {
  jobs: JobCache;
  client: JobClient;
  logger: Logger;
  /** The results document of a successful job. */
  results(jobId: string): Promise<unknown>;
  /** Status document with links, as GET /jobs/{id} returns it. */
  statusDocument(status: StatusInfo): unknown;
  timeoutMs?: number;
}

export class CallbackSender {
  private readonly queue: WorkQueue;
  private unsubscribe: (() => void) | undefined;
  private leading = false;

  constructor(private readonly options: CallbackSenderOptions) {
    this.queue = new WorkQueue((jobId) => this.deliver(jobId), {
      concurrency: 4,
      baseDelayMs: 1000,
      maxDelayMs: 5 * 60_000,
      onError: (jobId, error, attempt) => options.logger.warn({ jobId, attempt, err: error }, 'callback delivery failed; will retry'),
    });
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

  private async deliver(jobId: string): Promise<void> {
    if (!this.leading) return;
    const cached = this.options.jobs.job(jobId);
    const status = this.options.jobs.status(jobId);
    if (!cached || !status) return;
    // The delivery record is read fresh: the watch cache may not have seen our last write yet.
    const job = await this.options.client.read(cached.metadata?.name ?? '');
    if (!job) return;
    const annotations = job.metadata?.annotations ?? {};
    const subscriber = parseSubscriber(annotations[ANNOTATIONS.subscriber]);
    if (!subscriber) return;
    const sent = parseSent(annotations[ANNOTATIONS.callbacksSent]);
    const due = callbackDue(status.status, subscriber, sent);
    if (!due) return;
    const body = due.body === 'results' ? await this.options.results(jobId) : this.options.statusDocument(status);
    const response = await fetch(due.uri, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(this.options.timeoutMs ?? 10_000),
    });
    if (!response.ok) throw new Error(`callback ${due.uri} answered ${response.status}`);
    await response.body?.cancel();
    await this.options.client.recordCallbackSent(job.metadata?.name ?? '', (current) => [...new Set([...parseSent(current), due.state])].join(','));
    this.options.logger.info({ jobId, state: due.state }, 'callback delivered');
  }
}
