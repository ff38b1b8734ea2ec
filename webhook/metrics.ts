/** Prometheus metrics of the webhook, fed by the server's onReview hook. */
import { Histogram, type Registry } from 'prom-client';
import type { ReviewEvent } from './server.js';

const MAX_CACHED_LABELS = 64;

export function webhookMetrics(registry: Registry): (event: ReviewEvent) => void {
  const duration = new Histogram({
    name: 'admission_review_duration_seconds',
    help: 'Admission reviews answered, by outcome, kind and operation, and how long they took',
    labelNames: ['outcome', 'kind', 'operation'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [registry],
  });
  // The labelled child of each combination, so a review does not hash its labels again.
  // Bound: MAX_CACHED_LABELS (4 outcomes × the kinds the configuration sends, Job and Pod, × 4 operations fit; beyond, labels are hashed per review).
  const children = new Map<string, { observe(value: number): void }>();
  return (event) => {
    const kind = event.kind ?? '';
    const operation = event.operation ?? '';
    const key = `${event.outcome}\u0000${kind}\u0000${operation}`;
    let child = children.get(key);
    if (!child) {
      child = duration.labels({ outcome: event.outcome, kind, operation });
      if (children.size < MAX_CACHED_LABELS) children.set(key, child);
    }
    child.observe(event.durationSeconds);
  };
}
