/**
 * Every route that touches jobs, as a request a test can send: the JSON and
 * HTML forms, HEAD, execution, dismissal by DELETE and by the job page's form.
 * Access-control tests send each without credentials and expect 401.
 */
import type { RequestOptions } from './api-e2e.js';

export interface JobRoute {
  method: string;
  path: string;
  options: RequestOptions;
}

const FORM = { 'content-type': 'application/x-www-form-urlencoded', 'sec-fetch-site': 'same-origin' };

export function everyJobRoute(jobId: string, processId = 'echo'): JobRoute[] {
  const html = { headers: { accept: 'text/html' } };
  return [
    { method: 'GET', path: '/jobs', options: {} },
    { method: 'GET', path: '/jobs?f=html', options: html },
    { method: 'HEAD', path: '/jobs', options: {} },
    { method: 'GET', path: `/jobs/${jobId}`, options: {} },
    { method: 'GET', path: `/jobs/${jobId}?f=html`, options: html },
    { method: 'HEAD', path: `/jobs/${jobId}`, options: {} },
    { method: 'GET', path: `/jobs/${jobId}/results`, options: {} },
    { method: 'GET', path: `/jobs/${jobId}/results?f=html`, options: html },
    { method: 'GET', path: `/jobs/${jobId}/logs`, options: {} },
    { method: 'DELETE', path: `/jobs/${jobId}`, options: {} },
    { method: 'POST', path: `/jobs/${jobId}/dismiss`, options: { headers: FORM, body: '' } },
    { method: 'POST', path: `/processes/${processId}/execution`, options: { body: { inputs: { stringInput: 'x' } } } },
  ];
}

/** The same request with a bearer token added. */
export function withBearer(route: JobRoute, token: string): RequestOptions {
  return { ...route.options, headers: { ...route.options.headers, authorization: `Bearer ${token}` } };
}
