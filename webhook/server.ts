/**
 * The webhook's HTTPS edge: reads AdmissionReviews, asks the pure planner,
 * answers. The API server only speaks TLS to webhooks, so there is no plain
 * HTTP listener; probes use HTTPS too.
 */
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import Fastify, { type FastifyBaseLogger } from 'fastify';
import { allowedReview, deniedReview, parseAdmissionReview, refusedReview } from './admission-review.js';
import { jobClaimRefusal } from './job-claim.js';
import { JOB_CONTROLLER_USERS } from '../lib/contract.js';
import { planAdmissionPatch } from './plan-patch.js';
import type { WebhookSettings } from './types.js';

/** Reviews of large objects (a Job with big inputs annotations) must fit; the API server caps objects at ~3 MiB. */
export const BODY_LIMIT_BYTES = 8 * 1024 * 1024;
/** Longer than the API server's idle timeout for webhook connections (90 s), so it is the one to close them. */
export const KEEP_ALIVE_TIMEOUT_MS = 120_000;

/** One answered POST /mutate, for metrics. */
export interface ReviewEvent {
  /** patched/unchanged: allowed with or without a patch; refused: a pod claiming a Job it may not; denied: malformed review; rejected: HTTP 400. */
  outcome: 'patched' | 'unchanged' | 'refused' | 'denied' | 'rejected';
  /** The admitted object's kind (e.g. `Job`) and the operation, when the review could be read. */
  kind?: string;
  operation?: string;
  durationSeconds: number;
}

export interface WebhookServerOptions {
  host: string;
  port: number;
  tls: { key: string; cert: string };
  settings: WebhookSettings;
  logger: FastifyBaseLogger;
  /** Called once per answered review; the place where metrics hook in. */
  onReview?: (event: ReviewEvent) => void;
}

export interface WebhookServer {
  url: string;
  port: number;
  close(): Promise<void>;
  /** Serve new TLS connections with these credentials (certificate rotation); open connections keep theirs. */
  setTlsCredentials(key: string, cert: string): void;
}

/**
 * TLS 1.2 at least, and on 1.2 only ECDHE key exchange with AEAD ciphers
 * (forward secret); TLS 1.3 (all of whose suites qualify) is preferred by
 * any client that speaks it.
 */
export const WEBHOOK_TLS = {
  minVersion: 'TLSv1.2',
  ciphers: [
    'TLS_AES_128_GCM_SHA256',
    'TLS_AES_256_GCM_SHA384',
    'TLS_CHACHA20_POLY1305_SHA256',
    'ECDHE-ECDSA-AES128-GCM-SHA256',
    'ECDHE-RSA-AES128-GCM-SHA256',
    'ECDHE-ECDSA-AES256-GCM-SHA384',
    'ECDHE-RSA-AES256-GCM-SHA384',
    'ECDHE-ECDSA-CHACHA20-POLY1305',
    'ECDHE-RSA-CHACHA20-POLY1305',
  ].join(':'),
  honorCipherOrder: true,
} as const;

export async function startWebhookServer(options: WebhookServerOptions): Promise<WebhookServer> {
  const { settings, onReview, logger } = options;
  // No fastify logger: it would make a child logger for every request (a
  // fifth of a review's cost). Reviews are logged below, without the object
  // (its env may hold secrets); errors by the handler after it.
  const app = Fastify({
    https: { key: options.tls.key, cert: options.tls.cert, ...WEBHOOK_TLS },
    logger: false,
    bodyLimit: BODY_LIMIT_BYTES,
    keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
  });
  app.setErrorHandler((error: Error & { statusCode?: number }, request, reply) => {
    const status = error.statusCode ?? 500;
    logger[status >= 500 ? 'error' : 'warn']({ err: error, method: request.method, url: request.url, statusCode: status }, 'webhook request failed');
    // Answered as fastify answers it (its default error body).
    return reply.send(error);
  });

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async () => ({ status: 'ready' }));

  // One review's outcome to the metrics; a plain call with a flat event (no
  // closure per review): this runs for every pod the cluster creates.
  const report = (startedAt: number, outcome: ReviewEvent['outcome'], kind?: string, operation?: string): void => {
    if (onReview === undefined) return;
    const event: ReviewEvent = { outcome, durationSeconds: (performance.now() - startedAt) / 1000 };
    if (kind !== undefined) event.kind = kind;
    if (operation !== undefined) event.operation = operation;
    onReview(event);
  };

  app.post('/mutate', async (request, reply) => {
    const startedAt = performance.now();
    const parsed = parseAdmissionReview(request.body);
    if (parsed.kind === 'not-a-review') {
      report(startedAt, 'rejected');
      return reply.code(400).send({ statusCode: 400, error: 'Bad Request', message: parsed.message });
    }
    if (parsed.kind === 'malformed') {
      logger.warn({ uid: parsed.uid }, parsed.message);
      report(startedAt, 'denied');
      return deniedReview(parsed.uid, parsed.message);
    }

    const review = parsed.request;
    const refusal = jobClaimRefusal(review, settings.jobControllerUsers ?? JOB_CONTROLLER_USERS);
    if (refusal !== undefined) {
      logger.warn({ uid: review.uid, operation: review.operation, namespace: review.namespace, name: review.name, dryRun: review.dryRun === true }, refusal);
      report(startedAt, 'refused', review.kind.kind, review.operation);
      return refusedReview(review.uid, refusal);
    }
    const plan = planAdmissionPatch(review, settings, new Date());
    const outcome = plan.patch.length > 0 ? 'patched' : 'unchanged';
    // Every review is counted by the metrics; one with warnings (an identity
    // or owner replaced) is worth a line at info, the others at debug, where
    // the line is not even built unless debug is on.
    if (plan.warnings.length > 0 || logger.level === 'debug' || logger.level === 'trace') {
      logger[plan.warnings.length > 0 ? 'info' : 'debug'](
        {
          uid: review.uid,
          kind: review.kind.kind,
          operation: review.operation,
          namespace: review.namespace,
          name: review.name,
          dryRun: review.dryRun === true,
          patchOps: plan.patch.length,
          warnings: plan.warnings,
        },
        `admission review ${outcome}`,
      );
    }
    report(startedAt, outcome, review.kind.kind, review.operation);
    return allowedReview(review.uid, plan);
  });

  await app.listen({ host: options.host, port: options.port });
  const { port } = app.server.address() as AddressInfo;
  const urlHost = options.host.includes(':') ? `[${options.host}]` : options.host;

  return {
    url: `https://${urlHost}:${port}`,
    port,
    close: () => app.close(),
    setTlsCredentials: (key, cert) => app.server.setSecureContext({ key, cert, ...WEBHOOK_TLS }),
  };
}
