/** /processes and /processes/{processId}. */
import type { FastifyInstance } from 'fastify';
import { findProcess, type ApiContext } from '../context.js';
import { invalidParameter, noSuchProcess } from '../ogc/exceptions.js';
import { link } from '../ogc/links.js';
import { ROUTE_SCHEMAS } from '../ogc/openapi-schemas.js';
import { processDescription, processSummary } from '../ogc/process-documents.js';
import { formatOf, queryOf, sendHtml, siteOf } from '../html/respond.js';
import { processListPage, processPage, type ProcessDoc } from '../html/discovery-pages.js';

function intParam(value: unknown, name: string, min: number, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw invalidParameter(`${name}: must be an integer ≥ ${min}, got "${String(value)}"`);
  return n;
}

export function processRoutes(app: FastifyInstance, context: ApiContext): void {
  const base = context.config.server.url;
  const { defaultItems, maxItems } = context.config.server.limits;
  app.get<{ Querystring: Record<string, string> }>('/processes', { schema: ROUTE_SCHEMAS.processes }, async (request, reply) => {
    const limit = Math.min(intParam(request.query.limit, 'limit', 1, defaultItems), maxItems);
    const offset = intParam(request.query.offset, 'offset', 0, 0);
    const all = context.config.processes;
    const links = [link(base, `/processes?limit=${limit}&offset=${offset}`, 'self')];
    if (offset + limit < all.length) links.push(link(base, `/processes?limit=${limit}&offset=${offset + limit}`, 'next'));
    if (offset > 0) links.push(link(base, `/processes?limit=${limit}&offset=${Math.max(0, offset - limit)}`, 'prev'));
    links.push(link(base, '/processes?f=html', 'alternate', 'text/html', 'the process list as HTML'));
    const doc = { processes: all.slice(offset, offset + limit).map((p) => processSummary(p, base)), links };
    return formatOf(request) === 'html' ? sendHtml(reply, processListPage(siteOf(context), doc as unknown as { processes: ProcessDoc[]; links: typeof links }, queryOf(request))) : doc;
  });
  app.get<{ Params: { processId: string } }>('/processes/:processId', { schema: ROUTE_SCHEMAS.process }, async (request, reply) => {
    const process = findProcess(context, request.params.processId);
    if (!process) throw noSuchProcess(request.params.processId);
    const doc = processDescription(process, base);
    return formatOf(request) === 'html' ? sendHtml(reply, processPage(siteOf(context), doc as unknown as ProcessDoc)) : doc;
  });
}
