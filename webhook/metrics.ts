/** Prometheus metrics of the webhook, fed by the server's onReview hook. */
import { Histogram, type Registry } from 'prom-client';
import type { ReviewEvent } from './server.js';

export function webhookMetrics(registry: Registry): (event: ReviewEvent) => void {
  const duration = new Histogram({
    name: 'admission_review_duration_seconds',
    help: 'Admission reviews answered, by outcome, kind and operation, and how long they took',
    labelNames: ['outcome', 'kind', 'operation'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [registry],
  });
  return (event) =>
    duration.observe({ outcome: event.outcome, kind: event.kind ?? '', operation: event.operation ?? '' }, event.durationSeconds);
}
