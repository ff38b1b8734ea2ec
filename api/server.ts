/**
 * The OGC API – Processes server: fastify with the routes, OGC exception
 * documents for every error, the OpenAPI document generated from the route
 * schemas, request metrics and request ids.
 */
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { Histogram } from 'prom-client';
import type { ApiContext } from './context.js';
import { invalidParameter, OgcError, payloadTooLarge, serverError } from './ogc/exceptions.js';
import { landingRoutes } from './routes/landing.js';
import { processRoutes } from './routes/processes.js';
import { executionRoutes } from './routes/execution.js';
import { jobRoutes } from './routes/jobs.js';
import { operationRoutes } from './routes/operations.js';
import { formatOf, htmlRoutes, sendHtml, siteOf } from './html/respond.js';
import { errorPage } from './html/job-pages.js';

export const API_BODY_LIMIT_BYTES = 1024 * 1024;
const TYPE_BASE = 'http://www.opengis.net/def/exceptions/ogcapi-processes-1/1.0/';

/** Fastify's own client errors (bad JSON, wrong content type, too large) as OGC exceptions. */
function asOgcError(error: FastifyError): OgcError {
  if (error instanceof OgcError) return error;
  if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return payloadTooLarge(API_BODY_LIMIT_BYTES);
  // A request the route schemas reject: the parameter and what is wrong with it.
  if (error.validation) return invalidParameter(error.message);
  const status = error.statusCode ?? 500;
  if (status >= 400 && status < 500) {
    const detail = error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' ? 'the request body must be application/json' : error.message;
    return new OgcError(status, `${TYPE_BASE}invalid-request`, 'Invalid request', detail);
  }
  return serverError('the server could not complete the request; see the server log for its request id');
}

export async function buildApiServer(context: ApiContext): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: context.logger as FastifyBaseLogger,
    bodyLimit: API_BODY_LIMIT_BYTES,
    requestIdHeader: 'x-request-id',
  });
  const duration = new Histogram({
    name: 'ogc_api_request_duration_seconds',
    help: 'OGC API request latency by route and status code',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [context.metrics],
  });
  app.addHook('onResponse', async (request, reply) => {
    duration.observe({ method: request.method, route: request.routeOptions.url ?? 'unknown', status: String(reply.statusCode) }, reply.elapsedTime / 1000);
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'k8s-job-manager OGC API – Processes', version: '1.0.0', description: 'Processes run as Kubernetes Jobs' },
      servers: [{ url: context.config.server.url }],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/api/docs' });

  if (context.config.server.cors) {
    // server.cors: answer browsers from any origin, including their preflight requests.
    app.addHook('onRequest', async (request, reply) => {
      reply.header('access-control-allow-origin', '*');
      reply.header('access-control-expose-headers', 'location, preference-applied');
      if (request.method === 'OPTIONS' && request.headers['access-control-request-method']) {
        reply.header('access-control-allow-methods', 'GET, POST, DELETE, OPTIONS');
        reply.header('access-control-allow-headers', request.headers['access-control-request-headers'] ?? 'content-type, prefer');
        reply.header('access-control-max-age', '600');
        return reply.code(204).send();
      }
      return undefined;
    });
  }

  app.setErrorHandler((error: FastifyError, request, reply) => {
    const ogc = asOgcError(error);
    if (ogc.status >= 500) request.log.error({ err: error }, 'request failed');
    else request.log.info({ status: ogc.status, detail: ogc.message }, 'client error');
    void sendError(request, reply, ogc);
  });
  app.setNotFoundHandler((request, reply) => {
    void sendError(request, reply, new OgcError(404, `${TYPE_BASE}not-found`, 'Not found', `no resource at ${request.url}`));
  });
  /** An OGC exception document, or a page saying the same to a browser. */
  function sendError(request: FastifyRequest, reply: FastifyReply, ogc: OgcError): FastifyReply {
    reply.code(ogc.status).headers(ogc.headers);
    if (request.method === 'GET' && formatOf(request) === 'html') {
      return sendHtml(reply, errorPage(siteOf(context), ogc.status, ogc.title, ogc.message, request.url.split('?')[0]!), ogc.status);
    }
    return reply.type('application/problem+json').send(ogc.body(request.url));
  }

  htmlRoutes(app);
  landingRoutes(app, context);
  processRoutes(app, context);
  executionRoutes(app, context);
  jobRoutes(app, context);
  operationRoutes(app, context);
  return app;
}
