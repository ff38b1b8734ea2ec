/** Pages of the jobs: the list with its filters and paging, and one job with live progress, log tail, results and dismissal. */
import { html, type Html } from './template.js';
import { page, pager, sectionPage, type Can, type Site } from './layout.js';
import type { StatusInfo } from '../../lib/job-status.js';

const STATUSES = ['accepted', 'running', 'successful', 'failed', 'dismissed'] as const;
const FINISHED = new Set(['successful', 'failed', 'dismissed']);

/** "2 min 5 s" from seconds; undefined when unknown. */
export function formatDuration(seconds: number | undefined): string | undefined {
  if (seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return undefined;
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

export function jobDuration(job: StatusInfo, now: number): string | undefined {
  if (!job.started) return undefined;
  const end = job.finished ? Date.parse(job.finished) : now;
  return formatDuration((end - Date.parse(job.started)) / 1000);
}

function time(value: string | undefined): Html {
  return value ? html`<time datetime="${value}">${value.replace('T', ' ').replace(/\.\d+Z$/, 'Z')}</time>` : html`<span class="muted">–</span>`;
}

export function progressBar(job: StatusInfo, id: string): Html {
  const label = job.progress === undefined ? `${job.status}, progress not reported` : `${job.progress}%`;
  return html`<progress id="${id}" max="100"${job.progress !== undefined ? html` value="${job.progress}"` : ''} aria-label="Progress">${label}</progress> <span class="progress-text" data-field="progress-text">${label}</span>`;
}

export interface JobListFilters {
  status?: string[];
  processID?: string[];
  datetime?: string;
  minDuration?: string;
  maxDuration?: string;
  limit?: string;
}

export function jobListPage(site: Site, jobs: StatusInfo[], links: Array<{ href: string; rel: string }>, filters: JobListFilters, processIds: string[], query: string, now: number): Html {
  return sectionPage(
    site,
    'Jobs',
    '/jobs',
    query,
    html`<form method="get" action="${site.root}/jobs" class="filters" aria-label="Filter jobs">
<fieldset><legend>Status</legend>
${STATUSES.map((s) => html`<label class="inline"><input type="checkbox" name="status" value="${s}"${filters.status?.includes(s) ? html` checked` : ''}> ${s}</label>`)}
</fieldset>
<div class="row">
<div class="field"><label for="f-process">Process</label><select id="f-process" name="processID"><option value="">(any)</option>${processIds.map((p) => html`<option${filters.processID?.includes(p) ? html` selected` : ''}>${p}</option>`)}</select></div>
<div class="field"><label for="f-datetime">Created</label><input id="f-datetime" name="datetime" type="text" value="${filters.datetime ?? ''}" placeholder="2025-01-01T00:00:00Z/.."></div>
<div class="field"><label for="f-min">Min. duration (s)</label><input id="f-min" name="minDuration" type="number" min="0" step="1" value="${filters.minDuration ?? ''}"></div>
<div class="field"><label for="f-max">Max. duration (s)</label><input id="f-max" name="maxDuration" type="number" min="0" step="1" value="${filters.maxDuration ?? ''}"></div>
<div class="field"><label for="f-limit">Per page</label><input id="f-limit" name="limit" type="number" min="1" step="1" value="${filters.limit ?? ''}"></div>
</div>
<button type="submit">Filter</button> <a href="${site.root}/jobs">Clear filters</a>
</form>
${
  jobs.length === 0
    ? html`<p>No jobs match.</p>`
    : html`<table class="jobs">
<caption class="visually-hidden">Jobs, newest first</caption>
<thead><tr><th scope="col">Job</th><th scope="col">Process</th><th scope="col">Status</th><th scope="col">Progress</th><th scope="col">Created</th><th scope="col">Duration</th></tr></thead>
<tbody>
${jobs.map(
  (j) => html`<tr><th scope="row"><a href="${site.root}/jobs/${j.jobID}"><code>${j.jobID.slice(0, 8)}</code><span class="visually-hidden"> (job ${j.jobID})</span></a></th><td>${j.processID ?? ''}</td><td><span class="status status-${j.status}">${j.status}</span></td><td>${j.progress !== undefined ? `${j.progress}%` : '–'}</td><td>${time(j.created)}</td><td>${jobDuration(j, now) ?? '–'}</td></tr>`,
)}
</tbody>
</table>`
}
${pager(site, links, '/jobs', { prev: '← Newer jobs', next: 'Older jobs →' })}`,
  );
}

export interface ResultsView {
  /** The results document (output id → value or qualified value). */
  outputs?: Record<string, unknown>;
  /** Why there are no results to show. */
  problem?: string;
}

function showValue(output: unknown): string {
  // A qualified value shows its value; its media type is in the download.
  const value = typeof output === 'object' && output !== null && 'value' in output ? (output as { value: unknown }).value : output;
  const text = typeof value === 'string' ? value : JSON.stringify(value, null, 2);
  return text.length > 4000 ? `${text.slice(0, 4000)}\n… (${text.length} characters; download for all)` : text;
}

export function jobPage(site: Site, job: StatusInfo, can: Can, results: ResultsView, now: number): Html {
  const finished = FINISHED.has(job.status);
  const base = `${site.root}/jobs/${job.jobID}`;
  return page({
    site,
    title: `Job ${job.jobID}`,
    path: `/jobs/${job.jobID}`,
    crumbs: [['Home', '/'], ['Jobs', '/jobs'], [`Job ${job.jobID.slice(0, 8)}`, `/jobs/${job.jobID}`]],
    scripts: finished && !can.readLogs ? [] : ['/static/job.js'],
    body: html`<h1>Job <code>${job.jobID}</code></h1>
<section aria-labelledby="status-heading" id="job" data-job-url="${base}?f=json" data-log-url="${can.readLogs ? `${base}/logs` : ''}" data-status="${job.status}">
<h2 id="status-heading">Status</h2>
<p class="state" aria-live="polite"><span class="status status-${job.status}" data-field="status">${job.status}</span> <span data-field="message">${job.message ?? ''}</span></p>
<p>${progressBar(job, 'progress')}</p>
<dl class="facts">
<dt>Process</dt><dd>${job.processID ? html`<a href="${site.root}/processes/${job.processID}">${job.processID}</a>` : '–'}</dd>
<dt>Created</dt><dd data-field="created">${time(job.created)}</dd>
<dt>Started</dt><dd data-field="started">${time(job.started)}</dd>
<dt>Finished</dt><dd data-field="finished">${time(job.finished)}</dd>
<dt>Updated</dt><dd data-field="updated">${time(job.updated)}</dd>
<dt>Duration</dt><dd data-field="duration">${jobDuration(job, now) ?? '–'}</dd>
</dl>
${
  can.dismiss && !finished
    ? html`<form method="post" action="${base}/dismiss" class="dismiss"><button type="submit" class="danger">Dismiss job</button></form>`
    : ''
}
</section>
${
  job.status === 'successful'
    ? html`<section aria-labelledby="results-heading">
<h2 id="results-heading">Results</h2>
${results.problem ? html`<p class="problem">${results.problem}</p>` : ''}
${Object.entries(results.outputs ?? {}).map(
  ([id, value]) => html`<h3>${id}</h3><pre class="value" tabindex="0" aria-label="Output ${id}">${showValue(value)}</pre>`,
)}
<p><a href="${base}/results" download="results-${job.jobID}">Download results</a> (as the execution asked: the bare output in its media type, or the results document)</p>
</section>`
    : ''
}
${
  can.readLogs
    ? html`<section aria-labelledby="log-heading">
<h2 id="log-heading">Log</h2>
<pre id="log" class="log" tabindex="0" aria-label="Log tail" aria-live="off">Loading the log…</pre>
<p><a href="${base}/logs" type="text/plain">Full log</a></p>
</section>`
    : ''
}`,
  });
}

export function errorPage(site: Site, status: number, title: string, detail: string, path: string): Html {
  return page({
    site,
    title,
    path,
    body: html`<h1>${title}</h1><p class="problem" role="alert">${detail}</p><p>HTTP status ${status}. <a href="${site.root}/">Home</a></p>`,
  });
}
