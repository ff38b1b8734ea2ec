/**
 * CORS: which web pages may call the API from a browser. Off unless
 * `server.cors` says otherwise; origins are matched exactly; credentials only
 * for listed origins; `*` (pygeoapi's `cors: true`) only ever for reads.
 */
import type { FastifyInstance } from 'fastify';
import type { CorsPolicy } from '../../lib/config/types.js';

export interface CorsRequest {
  method: string;
  origin?: string;
  /** Access-Control-Request-Method: present on a preflight. */
  requestMethod?: string;
}

export interface CorsAnswer {
  headers: Record<string, string>;
  /** A preflight: answered at once with 204, whether or not the origin is allowed. */
  preflight: boolean;
}

/** Pure: the CORS headers of a response. */
export function corsAnswer(policy: CorsPolicy, request: CorsRequest): CorsAnswer {
  const preflight = request.method === 'OPTIONS' && request.requestMethod !== undefined;
  // Every answer may differ by Origin, so caches must key on it (except for the wildcard).
  const headers: Record<string, string> = policy.origins === '*' ? {} : { vary: 'Origin' };
  const origin = request.origin;
  const allowed = origin !== undefined && (policy.origins === '*' || policy.origins.includes(origin));
  if (!allowed) return { headers, preflight };
  headers['access-control-allow-origin'] = policy.origins === '*' ? '*' : origin;
  if (policy.credentials && policy.origins !== '*') headers['access-control-allow-credentials'] = 'true';
  if (preflight) {
    headers['access-control-allow-methods'] = policy.methods.join(', ');
    if (policy.headers.length) headers['access-control-allow-headers'] = policy.headers.join(', ');
    headers['access-control-max-age'] = '600';
  } else headers['access-control-expose-headers'] = 'location, preference-applied, www-authenticate';
  return { headers, preflight };
}

export function registerCors(app: FastifyInstance, policy: CorsPolicy | undefined): void {
  if (!policy) return;
  app.addHook('onRequest', async (request, reply) => {
    const origin = request.headers.origin;
    const requestMethod = request.headers['access-control-request-method'];
    const answer = corsAnswer(policy, {
      method: request.method,
      ...(typeof origin === 'string' ? { origin } : {}),
      ...(typeof requestMethod === 'string' ? { requestMethod } : {}),
    });
    reply.headers(answer.headers);
    if (answer.preflight) return reply.code(204).send();
    return undefined;
  });
}
