/**
 * The OGC API – Processes server: fastify with the routes, OGC exception
 * documents for every error, the OpenAPI document generated from the route
 * schemas, request metrics and request ids.
 */
import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { Histogram } from 'prom-client';
import type { ApiContext } from './context.js';
import { invalidParameter, OgcError, payloadTooLarge, serverError } from './ogc/exceptions.js';
import { describeValidation } from './ogc/validation-errors.js';
import { landingRoutes } from './routes/landing.js';
import { parseJsonBody } from './json-body.js';
import { registerRateLimits } from './limits.js';
import { processRoutes } from './routes/processes.js';
import { executionRoutes } from './routes/execution.js';
import { jobRoutes } from './routes/jobs.js';
import { operationRoutes } from './routes/operations.js';
import { discoveryGuard } from './auth/guard.js';
import { registerCors } from './auth/cors.js';
import { formatOf, htmlRoutes, sendHtml, siteOf } from './html/respond.js';
import { errorPage } from './html/job-pages.js';

export const API_BODY_LIMIT_BYTES = 1024 * 1024;
/** Probes and metrics: never behind access control (kubelets and Prometheus bring no tokens). */
const OPEN_ROUTES = new Set(['/healthz', '/readyz', '/metrics']);
const TYPE_BASE = 'http://www.opengis.net/def/exceptions/ogcapi-processes-1/1.0/';

/** Fastify's own client errors (bad JSON, wrong content type, too large) as OGC exceptions. */
function asOgcError(error: FastifyError, bodyLimit: number): OgcError {
  if (error instanceof OgcError) return error;
  if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return payloadTooLarge(bodyLimit);
  // A request the route schemas reject: the parameter and what is wrong with it.
  if (error.validation) return invalidParameter(describeValidation(error.validation, error.validationContext));
  const status = error.statusCode ?? 500;
  if (status >= 400 && status < 500) {
    const detail = error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' ? 'the request body must be application/json' : error.message;
    return new OgcError(status, `${TYPE_BASE}invalid-request`, 'Invalid request', detail);
  }
  return serverError('the server could not complete the request');
}

/** A client's x-request-id is kept when it is a plain token (it ends up in log lines); otherwise a fresh UUID. */
function requestId(header: string | string[] | undefined): string {
  return typeof header === 'string' && /^[\w.:-]{1,100}$/.test(header) ? header : randomUUID();
}

export async function buildApiServer(context: ApiContext): Promise<FastifyInstance> {
  // Room for the largest inputs allowed, and never less than 1 MiB.
  const bodyLimit = Math.max(API_BODY_LIMIT_BYTES, context.config.settings.limits.maxInputsBytes + 64 * 1024);
  const app = Fastify({
    loggerInstance: context.logger as FastifyBaseLogger,
    bodyLimit,
    requestIdHeader: false,
    genReqId: (request) => requestId(request.headers['x-request-id']),
  });
  // Access control: a route without a guard of its own (landing page, conformance,
  // OpenAPI, its UI, processes) gets the discovery guard; probes and metrics stay open.
  app.addHook('onRoute', (route) => {
    if (route.onRequest === undefined && !OPEN_ROUTES.has(route.url)) route.onRequest = discoveryGuard(context.auth);
  });
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  // JSON only: without fastify's text/plain parser a text body is a 415, not a confusing 400 about its shape.
  app.removeAllContentTypeParsers();
  const parseJson = (_request: unknown, body: string | Buffer, done: (error: Error | null, value?: unknown) => void): void => {
    try {
      done(null, parseJsonBody(body.toString()));
    } catch (error) {
      done(error as Error, undefined);
    }
  };
  app.addContentTypeParser('application/json', { parseAs: 'string' }, parseJson);
  app.addContentTypeParser(/^application\/[\w.+-]+\+json$/, { parseAs: 'string' }, parseJson);
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

  await registerRateLimits(app, context.config.settings.limits);
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'k8s-job-manager OGC API – Processes', version: '1.0.0', description: 'Processes run as Kubernetes Jobs' },
      servers: [{ url: context.config.server.url }],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/api/docs' });

  registerCors(app, context.config.server.cors);

  app.setErrorHandler((error: FastifyError, request, reply) => {
    let ogc = asOgcError(error, bodyLimit);
    if (ogc.status >= 500) {
      // The upstream failure (the error's cause) is logged, never sent: the client gets the request id to quote.
      request.log.error({ err: error, cause: (error as { cause?: unknown }).cause, requestId: request.id }, 'request failed');
      if (ogc.status === 500) ogc = new OgcError(500, ogc.type, ogc.title, `${ogc.message}; the server log has the details under request id ${request.id}`, ogc.headers);
    } else request.log.info({ status: ogc.status, detail: ogc.message }, 'client error');
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
