/**
 * The AdmissionReview envelope (admission.k8s.io/v1): reading an untrusted
 * parsed body into a request, and building the answer. Pure.
 */
import type { AdmissionPlan } from './plan-patch.js';
import type { AdmissionOperation, AdmissionRequestLike } from './types.js';
import { isRecord } from '../lib/is-record.js';

export const ADMISSION_API_VERSION = 'admission.k8s.io/v1';
export const ADMISSION_REVIEW_KIND = 'AdmissionReview';

const OPERATIONS: readonly AdmissionOperation[] = ['CREATE', 'UPDATE', 'DELETE', 'CONNECT'];

export interface AdmissionReviewResponse {
  apiVersion: typeof ADMISSION_API_VERSION;
  kind: typeof ADMISSION_REVIEW_KIND;
  response: {
    uid: string;
    allowed: boolean;
    patchType?: 'JSONPatch';
    /** Base64 of the JSON Patch. */
    patch?: string;
    warnings?: string[];
    status?: { code: number; message: string };
  };
}

export type ParsedReview =
  /** A request to plan for. */
  | { kind: 'request'; request: AdmissionRequestLike }
  /** An AdmissionReview whose request cannot be read: answered with a denial (see `deniedReview`). */
  | { kind: 'malformed'; uid: string; message: string }
  /** Not an AdmissionReview we speak: answered with HTTP 400. */
  | { kind: 'not-a-review'; message: string };

export function parseAdmissionReview(body: unknown): ParsedReview {
  if (!isRecord(body)) return { kind: 'not-a-review', message: 'body must be a JSON object (an AdmissionReview)' };
  if (body.kind !== ADMISSION_REVIEW_KIND) {
    return { kind: 'not-a-review', message: `kind must be "${ADMISSION_REVIEW_KIND}"` };
  }
  if (body.apiVersion !== ADMISSION_API_VERSION) {
    // The webhook configuration lists only v1, so the API server never sends anything else.
    return { kind: 'not-a-review', message: `unsupported AdmissionReview apiVersion; only "${ADMISSION_API_VERSION}" is served` };
  }
  const request = body.request;
  if (!isRecord(request)) return { kind: 'malformed', uid: '', message: 'AdmissionReview has no request object' };
  const uid = typeof request.uid === 'string' ? request.uid : '';
  const problem = requestProblem(request);
  if (problem !== undefined) return { kind: 'malformed', uid, message: `malformed AdmissionReview request: ${problem}` };

  // Every review passes here: fields are copied one by one (no spread of
  // temporary objects), and only the ones present, so absent stays absent.
  const kind = request.kind as AdmissionRequestLike['kind'];
  const read: AdmissionRequestLike = {
    uid,
    kind: { group: kind.group, version: kind.version, kind: kind.kind },
    operation: request.operation as AdmissionOperation,
  };
  if (typeof request.subResource === 'string') read.subResource = request.subResource;
  if (typeof request.namespace === 'string') read.namespace = request.namespace;
  if (typeof request.name === 'string') read.name = request.name;
  if (request.object !== undefined && request.object !== null) read.object = request.object;
  if (request.oldObject !== undefined && request.oldObject !== null) read.oldObject = request.oldObject;
  if (request.dryRun === true) read.dryRun = true;
  const userInfo = request.userInfo;
  if (isRecord(userInfo) && typeof userInfo.username === 'string') read.userInfo = { username: userInfo.username };
  return { kind: 'request', request: read };
}

/** What is wrong with a request, or undefined when it can be planned for. */
function requestProblem(request: Record<string, unknown>): string | undefined {
  if (typeof request.uid !== 'string' || request.uid === '') return 'uid must be a non-empty string';
  const kind = request.kind;
  if (!isRecord(kind) || typeof kind.group !== 'string' || typeof kind.version !== 'string' || typeof kind.kind !== 'string') {
    return 'kind must be {group, version, kind} strings';
  }
  const operation = request.operation;
  if (operation !== 'CREATE' && operation !== 'UPDATE' && operation !== 'DELETE' && operation !== 'CONNECT') {
    return `operation must be one of ${OPERATIONS.join(', ')}`;
  }
  if (request.subResource !== undefined && typeof request.subResource !== 'string') return 'subResource must be a string';
  if (request.namespace !== undefined && typeof request.namespace !== 'string') return 'namespace must be a string';
  if (request.name !== undefined && typeof request.name !== 'string') return 'name must be a string';
  if (request.dryRun !== undefined && typeof request.dryRun !== 'boolean') return 'dryRun must be a boolean';
  if (operation === 'CREATE' && !isRecord(request.object)) return 'a CREATE request must carry the object';
  return undefined;
}

/** The answer to a readable request: always allowed; the patch and warnings only when there are any. */
export function allowedReview(uid: string, plan: AdmissionPlan): AdmissionReviewResponse {
  const response: AdmissionReviewResponse['response'] = { uid, allowed: true };
  if (plan.patch.length > 0) {
    response.patchType = 'JSONPatch';
    response.patch = base64(JSON.stringify(plan.patch));
  }
  if (plan.warnings.length > 0) response.warnings = plan.warnings;
  return { apiVersion: ADMISSION_API_VERSION, kind: ADMISSION_REVIEW_KIND, response };
}

const NON_ASCII = /[^\x00-\x7f]/;

/**
 * Base64 of the UTF-8 bytes of `text`. A patch is nearly always ASCII, and
 * for ASCII btoa gives the same bytes as a Buffer without allocating one
 * (a fifth of the cost, on every review); anything else goes through a Buffer.
 */
function base64(text: string): string {
  return NON_ASCII.test(text) ? Buffer.from(text, 'utf8').toString('base64') : btoa(text);
}

/**
 * The answer to a review whose request cannot be read. It fails closed: the
 * webhook exists to guarantee the log finalizer and the job env, and it
 * cannot give that guarantee for a request it cannot read, so admitting it
 * unchanged would silently create pods whose logs are lost. This matches the
 * webhook configuration's `failurePolicy: Fail`, and costs no availability in
 * practice: a conforming API server never sends such a review (and ignores an
 * answer whose uid does not match its request anyway).
 */
export function deniedReview(uid: string, message: string): AdmissionReviewResponse {
  return {
    apiVersion: ADMISSION_API_VERSION,
    kind: ADMISSION_REVIEW_KIND,
    response: { uid, allowed: false, status: { code: 400, message } },
  };
}

/** The answer to a readable request the webhook refuses (a pod claiming a Job it may not): 403, with the reason. */
export function refusedReview(uid: string, message: string): AdmissionReviewResponse {
  return {
    apiVersion: ADMISSION_API_VERSION,
    kind: ADMISSION_REVIEW_KIND,
    response: { uid, allowed: false, status: { code: 403, message } },
  };
}
