/**
 * The HTML side of the routes: which format a request wants, the site
 * frame, what the caller may do, sending a page, and the routes only
 * browsers use (static assets). Routes stay JSON-first: they build the
 * document, then hand it to a page when HTML is wanted.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ApiContext } from '../context.js';
import { localized } from '../ogc/process-documents.js';
import { invalidParameter } from '../ogc/exceptions.js';
import { JOB_JS, STYLE_CSS } from './assets.js';
import type { Can, Site } from './layout.js';
import { FORMATS, negotiateFormat, type Format } from './negotiate.js';
import type { Html } from './template.js';

/** The `f` values of a URL's query, in order. */
function fValues(url: string): string[] {
  const q = url.indexOf('?');
  return q < 0 ? [] : new URLSearchParams(url.slice(q + 1)).getAll('f');
}

export function formatOf(request: FastifyRequest): Format {
  return negotiateFormat(fValues(request.url)[0], request.headers.accept);
}

export function siteOf(context: ApiContext): Site {
  const root = new URL(context.config.server.url).pathname.replace(/\/+$/, '');
  return { root, title: localized(context.config.server.identification.title) ?? 'k8s-job-manager' };
}

/**
 * What this caller may do on the job pages: the log tail and the dismiss
 * button appear only for a caller whose grant allows them (the routes
 * themselves are guarded as well). A request no guard saw (access control
 * off) may do everything.
 */
export async function permissionsOf(context: ApiContext, request: FastifyRequest): Promise<Can> {
  const access = request.access;
  if (!access) return { readLogs: true, dismiss: true };
  const [logs, dismiss] = await Promise.all([context.auth.grant(access.principal, 'logs'), context.auth.grant(access.principal, 'dismiss')]);
  return { readLogs: logs.mayDo, dismiss: dismiss.mayDo };
}

export function sendHtml(reply: FastifyReply, page: Html, status = 200): FastifyReply {
  return reply.code(status).type('text/html; charset=utf-8').header('vary', 'accept').send(page.text);
}

/** The query string of a request without `f` (for alternate links). */
export function queryOf(request: FastifyRequest): string {
  const q = request.url.indexOf('?');
  const params = new URLSearchParams(q < 0 ? '' : request.url.slice(q + 1));
  params.delete('f');
  return params.toString();
}

/**
 * Same-origin check for form posts (execute and dismiss from the pages): a
 * browser tells where a form came from (Sec-Fetch-Site, else Origin), and a
 * post from another site is refused, so no other page can make a visitor's
 * browser run or dismiss jobs. Clients that send neither header are not
 * browsers submitting forms. Pure.
 */
export function crossSiteForm(headers: { 'sec-fetch-site'?: string | string[]; origin?: string | string[]; host?: string | string[] }, publicUrl: string): boolean {
  const site = headers['sec-fetch-site'];
  if (typeof site === 'string') return !['same-origin', 'none'].includes(site);
  const origin = headers.origin;
  if (typeof origin !== 'string') return false;
  if (origin === 'null') return true;
  const allowed = new Set([new URL(publicUrl).origin]);
  if (typeof headers.host === 'string') {
    allowed.add(`http://${headers.host}`);
    allowed.add(`https://${headers.host}`);
  }
  return !allowed.has(origin);
}

export function htmlRoutes(app: FastifyInstance): void {
  // An unknown or repeated `f` is a client error on every resource.
  app.addHook('onRequest', async (request) => {
    const f = fValues(request.url);
    if (f.length > 1) throw invalidParameter(`f: give one format (${FORMATS.join(' or ')}), not ${f.length}`);
    if (f.length === 1 && !FORMATS.includes(f[0] as Format)) throw invalidParameter(`f: "${f[0]}" is not a supported format (${FORMATS.join(' or ')})`);
  });
  // Forms from the pages post urlencoded fields; the routes turn them into requests.
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => {
    const fields: Record<string, string | string[]> = {};
    for (const [key, value] of new URLSearchParams(body as string)) {
      const prior = fields[key];
      fields[key] = prior === undefined ? value : Array.isArray(prior) ? [...prior, value] : [prior, value];
    }
    done(null, fields);
  });
  const hidden = { schema: { hide: true } };
  app.get('/static/style.css', hidden, async (_request, reply) => reply.type('text/css; charset=utf-8').header('cache-control', 'public, max-age=3600').send(STYLE_CSS));
  app.get('/static/job.js', hidden, async (_request, reply) => reply.type('text/javascript; charset=utf-8').header('cache-control', 'public, max-age=3600').send(JOB_JS));
}

export function isForm(request: FastifyRequest): boolean {
  return (request.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded');
}
