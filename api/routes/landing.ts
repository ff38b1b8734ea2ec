/** Landing page, conformance and the OpenAPI document. */
import type {} from '@fastify/swagger';
import type { FastifyInstance } from 'fastify';
import type { ApiContext } from '../context.js';
import { ROUTE_SCHEMAS } from '../ogc/openapi-schemas.js';
import { CONFORMANCE_CLASSES } from '../ogc/conformance.js';
import { link, REL } from '../ogc/links.js';
import { localized } from '../ogc/process-documents.js';
import { formatOf, sendHtml, siteOf } from '../html/respond.js';
import { conformancePage, landingPage } from '../html/discovery-pages.js';

export const NO_ACCESS_CONTROL_WARNING =
  'Access control is off (PYGEOAPI_K8S_MANAGER_AUTH_MODE=none): everyone who can reach this server can run, read, read the logs of and dismiss every job.';

export function landingRoutes(app: FastifyInstance, context: ApiContext): void {
  const base = context.config.server.url;
  app.get('/', { schema: ROUTE_SCHEMAS.landing }, async (request, reply) => {
    const doc = landing();
    return formatOf(request) === 'html' ? sendHtml(reply, landingPage(siteOf(context), doc)) : doc;
  });
  const landing = () => ({
    title: localized(context.config.server.identification.title) ?? 'k8s-job-manager',
    description: localized(context.config.server.identification.description) ?? 'OGC API – Processes on Kubernetes Jobs',
    // `none` mode says so where every visitor looks first.
    ...(context.auth.mode === 'none' ? { warning: NO_ACCESS_CONTROL_WARNING } : {}),
    links: [
      link(base, '/', 'self', 'application/json', 'this document'),
      link(base, '/?f=html', 'alternate', 'text/html', 'this document as HTML'),
      link(base, '/api', 'service-desc', 'application/vnd.oai.openapi+json;version=3.0', 'the API definition'),
      link(base, '/api/docs', 'service-doc', 'text/html', 'the API documentation'),
      link(base, '/conformance', REL.conformance, 'application/json', 'conformance classes'),
      link(base, '/processes', REL.processes, 'application/json', 'processes'),
      link(base, '/jobs', REL.jobList, 'application/json', 'jobs'),
    ],
  });
  app.get('/conformance', { schema: ROUTE_SCHEMAS.conformance }, async (request, reply) =>
    formatOf(request) === 'html' ? sendHtml(reply, conformancePage(siteOf(context), CONFORMANCE_CLASSES)) : { conformsTo: CONFORMANCE_CLASSES },
  );
  app.get('/api', { schema: { hide: true } }, async (_request, reply) => {
    reply.type('application/vnd.oai.openapi+json;version=3.0');
    return JSON.stringify(app.swagger());
  });
}
