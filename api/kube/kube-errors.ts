/**
 * What an OGC client is told when Kubernetes answers with an error: a status
 * that means something to the client and a plain message, never the
 * upstream text of an unexpected failure (that goes to the log with the
 * request id the client gets). Pure: `describeKubeError` is table-tested.
 */
import { KubeApiError } from '../../lib/kube/http.js';
import { OgcError, serverError } from '../ogc/exceptions.js';

const TYPE_BASE = 'http://www.opengis.net/def/exceptions/ogcapi-processes-1/1.0/';

/** The parts of a failed Kubernetes call that decide the answer. */
export interface KubeErrorFacts {
  /** HTTP status from the API server; undefined when there was no answer. */
  status?: number;
  /** metav1.Status of the answer, when it had one. */
  body?: { message?: string; reason?: string; details?: { causes?: Array<{ field?: string; message?: string }>; retryAfterSeconds?: number } };
  /** Node's error code when there was no answer (ECONNREFUSED, ETIMEDOUT, …). */
  errorCode?: string;
}

/** `field: message` of each cause of a 422, e.g. `metadata.annotations: Too long: must have at most 262144 bytes`. */
function causes(facts: KubeErrorFacts): string {
  const list = (facts.body?.details?.causes ?? []).map((c) => [c.field, c.message].filter(Boolean).join(': ')).filter(Boolean);
  if (list.length) return list.join('; ');
  // Without causes, the part of the message after "is invalid:" names the field.
  const message = facts.body?.message ?? '';
  const at = message.indexOf('is invalid:');
  return at >= 0 ? message.slice(at + 'is invalid:'.length).trim() : 'the object was refused';
}

export function describeKubeError(facts: KubeErrorFacts, doing: string): OgcError {
  const { status } = facts;
  const timeoutCodes = ['ETIMEDOUT', 'ESOCKETTIMEDOUT', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'ABORT_ERR', 'TimeoutError'];
  if (status === 504 || (status === undefined && facts.errorCode !== undefined && timeoutCodes.includes(facts.errorCode))) {
    return new OgcError(504, `${TYPE_BASE}timeout`, 'Gateway timeout', `the Kubernetes API did not answer in time while ${doing}; try again`, { 'retry-after': '5' });
  }
  if (status === undefined || status === 429 || status >= 500) {
    const retryAfter = String(facts.body?.details?.retryAfterSeconds ?? 5);
    return new OgcError(503, `${TYPE_BASE}unavailable`, 'Service unavailable', `the Kubernetes API is unavailable while ${doing}; try again later`, { 'retry-after': retryAfter });
  }
  if (status === 422) return new OgcError(400, `${TYPE_BASE}invalid-parameter`, 'Invalid parameter', `Kubernetes refused ${doing}: ${causes(facts)}`);
  if (status === 403 && /exceeded quota/i.test(facts.body?.message ?? '')) {
    return new OgcError(429, `${TYPE_BASE}quota-exceeded`, 'Too many jobs', `the jobs namespace has used up its resource quota, so ${doing} is not possible now; try again when running jobs have finished`, {
      'retry-after': '60',
    });
  }
  if (status === 409) return new OgcError(409, `${TYPE_BASE}conflict`, 'Conflict', `${doing} conflicts with a change made at the same time; try again`);
  return serverError(`the server could not complete ${doing}`);
}

/** Facts from a KubeApiError (an answer) or a network error (none). */
export function kubeErrorFacts(error: unknown): KubeErrorFacts {
  if (error instanceof KubeApiError) {
    const body: NonNullable<KubeErrorFacts['body']> | undefined = error.status ? { ...(error.status as KubeErrorFacts['body']) } : undefined;
    if (error.retryAfterSeconds !== undefined) {
      const details = { ...body?.details, retryAfterSeconds: error.retryAfterSeconds };
      return { status: error.code, body: { ...body, details } };
    }
    return { status: error.code, ...(body ? { body } : {}) };
  }
  const e = (error ?? {}) as { code?: unknown; cause?: { code?: unknown; name?: unknown }; name?: unknown };
  // Our request timeout aborts the exchange: an AbortError whose cause is the TimeoutError.
  if (e.name === 'TimeoutError' || e.cause?.name === 'TimeoutError') return { errorCode: 'TimeoutError' };
  if (typeof e.code === 'string') return { errorCode: e.code };
  if (typeof e.cause?.code === 'string') return { errorCode: e.cause.code };
  return {};
}

/** Maps a failed Kubernetes call to an OgcError; the original stays as its cause, for the log. */
export function kubeFailure(error: unknown, doing: string): OgcError {
  const mapped = describeKubeError(kubeErrorFacts(error), doing);
  Object.defineProperty(mapped, 'cause', { value: error, enumerable: false });
  return mapped;
}
