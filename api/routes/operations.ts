/** Probes and metrics, for the kubelet and Prometheus. */
import type { FastifyInstance } from 'fastify';
import type { ApiContext } from '../context.js';

export function operationRoutes(app: FastifyInstance, context: ApiContext): void {
  const hidden = { schema: { hide: true } };
  app.get('/healthz', hidden, async () => ({ status: 'ok' }));
  app.get('/readyz', hidden, async (_request, reply) => {
    if (!context.isReady()) return reply.code(503).send({ status: 'not ready' });
    return { status: 'ready' };
  });
  app.get('/metrics', hidden, async (_request, reply) => {
    reply.type(context.metrics.contentType);
    return context.metrics.metrics();
  });
}
