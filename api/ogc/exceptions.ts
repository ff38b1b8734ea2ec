/**
 * OGC API – Processes exceptions (RFC 7807 problem details with the
 * standard's type URIs) and the HTTP status each one carries.
 */

const TYPE_BASE = 'http://www.opengis.net/def/exceptions/ogcapi-processes-1/1.0/';

export interface OgcExceptionBody {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance?: string;
}

export class OgcError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    readonly title: string,
    detail: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(detail);
  }

  body(instance?: string): OgcExceptionBody {
    return { type: this.type, title: this.title, status: this.status, detail: this.message, ...(instance ? { instance } : {}) };
  }
}

export const noSuchProcess = (id: string): OgcError =>
  new OgcError(404, `${TYPE_BASE}no-such-process`, 'No such process', `process "${id}" is not offered by this server`);

export const noSuchJob = (id: string): OgcError =>
  new OgcError(404, `${TYPE_BASE}no-such-job`, 'No such job', `job "${id}" does not exist`);

export const resultNotReady = (id: string, status: string): OgcError =>
  new OgcError(404, `${TYPE_BASE}result-not-ready`, 'Result not ready', `job "${id}" is ${status}; results are available once it is successful`);

export const resultsUnavailable = (id: string): OgcError =>
  new OgcError(404, `${TYPE_BASE}result-not-ready`, 'Results not available', `job "${id}" succeeded, but its results are no longer available: its pods are gone and no archive holds them`);

export const noSuchOutput = (ids: string[]): OgcError =>
  new OgcError(400, `${TYPE_BASE}no-such-output`, 'No such output', `the process has no output ${ids.map((i) => `"${i}"`).join(', ')}`);

export const jobFailed = (id: string, why: string): OgcError =>
  new OgcError(500, `${TYPE_BASE}job-results-failed`, 'Job failed', `job "${id}" failed: ${why}`);

export const invalidParameter = (detail: string): OgcError =>
  new OgcError(400, `${TYPE_BASE}invalid-parameter`, 'Invalid parameter', detail);

export const invalidInput = (detail: string): OgcError =>
  new OgcError(400, `${TYPE_BASE}invalid-input`, 'Invalid input', detail);

export const missingToken = (): OgcError =>
  new OgcError(401, `${TYPE_BASE}unauthorized`, 'Unauthorized', 'this process requires the input "token"', {
    'www-authenticate': 'Token realm="processes"',
  });

export const wrongToken = (): OgcError =>
  new OgcError(403, `${TYPE_BASE}forbidden`, 'Forbidden', 'the input "token" is not valid for this process');

export const crossSiteRefused = (): OgcError =>
  new OgcError(403, `${TYPE_BASE}forbidden`, 'Forbidden', 'this form was submitted from another site; open the page on this server and submit it there');

export const payloadTooLarge = (limit: number): OgcError =>
  new OgcError(413, `${TYPE_BASE}payload-too-large`, 'Payload too large', `the request body exceeds ${limit} bytes`);

export const inputsTooLarge = (size: number, limit: number): OgcError =>
  new OgcError(413, `${TYPE_BASE}payload-too-large`, 'Inputs too large', `the inputs take ${size} bytes serialized; the limit is ${limit} bytes (PYGEOAPI_K8S_MANAGER_MAX_INPUTS_BYTES); pass large data by reference`);

export const unavailable = (detail: string): OgcError =>
  new OgcError(503, `${TYPE_BASE}unavailable`, 'Service unavailable', detail, { 'retry-after': '5' });

export const serverError = (detail: string): OgcError =>
  new OgcError(500, `${TYPE_BASE}server-error`, 'Server error', detail);
