/**
 * Probes, for the kubelet. Metrics are served only on the ops port
 * (cmd/parts/ops-server.ts), never on the public API port: they describe
 * the server's internals and traffic.
 */
import type { FastifyInstance } from 'fastify';
import type { ApiContext } from '../context.js';

export function operationRoutes(app: FastifyInstance, context: ApiContext): void {
  const hidden = { schema: { hide: true } };
  app.get('/healthz', hidden, async () => ({ status: 'ok' }));
  app.get('/readyz', hidden, async (_request, reply) => {
    if (!context.isReady()) return reply.code(503).send({ status: 'not ready' });
    return { status: 'ready' };
  });
}
