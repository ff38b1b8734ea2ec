/**
 * Which OGC callback a job is owed: one per state it reached, to the URI the
 * subscriber gave for it (inProgressUri for accepted and running, successUri
 * with the results, failedUri for failed and dismissed), skipping states
 * already delivered — recorded on the Job, so a restart or another replica
 * does not send them again.
 */
import type { OgcStatus } from '../../lib/job-status.js';

export interface Subscriber {
  successUri?: string;
  inProgressUri?: string;
  failedUri?: string;
}

export interface CallbackDue {
  state: OgcStatus;
  uri: string;
  /** successUri gets the results document, the others the status document. */
  body: 'results' | 'status';
}

export function parseSubscriber(annotation: string | undefined): Subscriber | undefined {
  if (!annotation) return undefined;
  try {
    const parsed: unknown = JSON.parse(annotation);
    if (typeof parsed !== 'object' || parsed === null) return undefined;
    const s = parsed as Record<string, unknown>;
    // Any text is kept: the sender checks it and reports a refused URL with an Event instead of ignoring it.
    const uri = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
    const subscriber: Subscriber = {};
    if (uri(s.successUri)) subscriber.successUri = uri(s.successUri);
    if (uri(s.inProgressUri)) subscriber.inProgressUri = uri(s.inProgressUri);
    if (uri(s.failedUri)) subscriber.failedUri = uri(s.failedUri);
    return Object.keys(subscriber).length ? subscriber : undefined;
  } catch {
    return undefined;
  }
}

export function parseSent(annotation: string | undefined): Set<string> {
  return new Set((annotation ?? '').split(',').map((s) => s.trim()).filter(Boolean));
}

export function callbackDue(status: OgcStatus, subscriber: Subscriber, sent: Set<string>): CallbackDue | undefined {
  if (sent.has(status)) return undefined;
  switch (status) {
    case 'accepted':
    case 'running':
      return subscriber.inProgressUri ? { state: status, uri: subscriber.inProgressUri, body: 'status' } : undefined;
    case 'successful':
      return subscriber.successUri ? { state: status, uri: subscriber.successUri, body: 'results' } : undefined;
    case 'failed':
    case 'dismissed':
      return subscriber.failedUri ? { state: status, uri: subscriber.failedUri, body: 'status' } : undefined;
  }
}
