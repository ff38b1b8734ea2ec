/**
 * The /jobs query of the job-list conformance class: parsing (every bad
 * parameter is a 400 naming it), newest-first order, the filters and paging.
 */
import t from 'tap';
import { durationSeconds, filterJobs, newestFirst, page, parseJobListQuery, type JobListQuery } from '../../api/jobs/list-query.js';
import type { StatusInfo } from '../../lib/job-status.js';
import { encodeCursor } from '../../lib/archive/history-layout.js';
import { OgcError } from '../../api/ogc/exceptions.js';
import { expectOgc } from '../helpers/ogc-schemas.js';

const DEFAULT_LIMIT = 10;
const MAX_LIMIT = 50;
const parse = (query: Record<string, unknown>): JobListQuery => parseJobListQuery(query, DEFAULT_LIMIT, MAX_LIMIT);

t.test('valid queries', async (t) => {
  const rows: Array<[string, Record<string, unknown>, Partial<JobListQuery>]> = [
    ['no parameters: default limit, offset 0, no filters', {}, { limit: DEFAULT_LIMIT, offset: 0 }],
    ['limit and offset as query strings', { limit: '3', offset: '6' }, { limit: 3, offset: 6 }],
    ['a limit above the maximum is capped', { limit: '10000' }, { limit: MAX_LIMIT }],
    ['status as a comma list', { status: 'running,successful' }, { status: ['running', 'successful'] }],
    ['status repeated', { status: ['accepted', 'failed'] }, { status: ['accepted', 'failed'] }],
    ['every status', { status: 'accepted,running,successful,failed,dismissed' }, { status: ['accepted', 'running', 'successful', 'failed', 'dismissed'] }],
    ['type=process', { type: 'process' }, { type: ['process'] }],
    ['processID list, blanks dropped', { processID: 'echo, hello-world-k8s,' }, { processID: ['echo', 'hello-world-k8s'] }],
    ['processID repeated', { processID: ['a', 'b'] }, { processID: ['a', 'b'] }],
    ['datetime instant', { datetime: '2025-03-01T10:00:00Z' }, { datetime: { start: Date.parse('2025-03-01T10:00:00Z'), end: Date.parse('2025-03-01T10:00:00Z') } }],
    ['datetime closed interval', { datetime: '2025-03-01T00:00:00Z/2025-03-02T00:00:00Z' }, { datetime: { start: Date.parse('2025-03-01T00:00:00Z'), end: Date.parse('2025-03-02T00:00:00Z') } }],
    ['datetime open start', { datetime: '../2025-03-02T00:00:00Z' }, { datetime: { start: undefined, end: Date.parse('2025-03-02T00:00:00Z') } }],
    ['datetime open end (empty)', { datetime: '2025-03-01T00:00:00Z/' }, { datetime: { start: Date.parse('2025-03-01T00:00:00Z'), end: undefined } }],
    ['a position to continue after', { after: encodeCursor({ created: '2025-03-01T00:00:00.000Z', jobID: 'j1' }) }, { after: { created: '2025-03-01T00:00:00.000Z', jobID: 'j1' } }],
    ['a position to go back from', { before: encodeCursor({ created: '2025-03-01T00:00:00.000Z', jobID: 'j1' }) }, { before: { created: '2025-03-01T00:00:00.000Z', jobID: 'j1' } }],
    ['min and max duration', { minDuration: '5', maxDuration: '60' }, { minDuration: 5, maxDuration: 60 }],
    ['zero durations are allowed', { minDuration: '0', maxDuration: '0' }, { minDuration: 0, maxDuration: 0 }],
  ];
  for (const [what, query, want] of rows) t.match(parse(query), want, what);
  t.same(Object.keys(parse({})).sort(), ['limit', 'offset'], 'no filters unless asked for');
});

t.test('bad parameters are 400 invalid-parameter errors naming the parameter', async (t) => {
  const rows: Array<[Record<string, unknown>, string]> = [
    [{ limit: '0' }, 'limit'],
    [{ limit: '-3' }, 'limit'],
    [{ limit: 'ten' }, 'limit'],
    [{ limit: '2.5' }, 'limit'],
    [{ limit: '' }, 'limit'],
    [{ offset: '-1' }, 'offset'],
    [{ offset: 'x' }, 'offset'],
    [{ status: 'finished' }, 'status'],
    [{ status: 'running,Running' }, 'status'],
    [{ type: 'workflow' }, 'type'],
    [{ datetime: 'yesterday' }, 'datetime'],
    [{ datetime: '2025-03-01T00:00:00Z/tomorrow' }, 'datetime'],
    [{ minDuration: '-1' }, 'minDuration'],
    [{ minDuration: '1.5' }, 'minDuration'],
    [{ maxDuration: 'long' }, 'maxDuration'],
    [{ after: 'not-a-position' }, 'after'],
    [{ after: ['a', 'b'] }, 'after'],
    [{ before: Buffer.from('["yesterday","a"]').toString('base64url') }, 'before'],
    [{ after: encodeCursor({ created: '2025-03-01T00:00:00Z', jobID: 'a' }), before: encodeCursor({ created: '2025-03-01T00:00:00Z', jobID: 'b' }) }, 'after, before'],
  ];
  for (const [query, parameter] of rows) {
    const what = `${parameter}=${JSON.stringify(Object.values(query)[0])}`;
    try {
      parse(query);
      t.fail(`${what}: accepted`);
    } catch (error) {
      t.ok(error instanceof OgcError, `${what}: an OgcError`);
      const e = error as OgcError;
      t.equal(e.status, 400, `${what}: status 400`);
      t.match(e.type, /invalid-parameter$/, `${what}: invalid-parameter type`);
      t.match(e.message, parameter, `${what}: the message names ${parameter}`);
      expectOgc(t, 'exception', e.body('/jobs'), `${what}: a valid OGC exception`);
    }
  }
});

t.test('a repeated datetime parameter is rejected, not ignored', async (t) => {
  let outcome: unknown;
  try {
    outcome = parse({ datetime: ['2025-03-01T00:00:00Z', '2025-03-02T00:00:00Z'] });
  } catch (error) {
    outcome = error;
  }
  t.ok(outcome instanceof OgcError && outcome.status === 400, 'repeated datetime → 400');
});

const NOW = Date.parse('2025-03-01T12:00:00Z');

function job(jobID: string, created: string, status: StatusInfo['status'], processID: string, started?: string, finished?: string): StatusInfo {
  return { jobID, type: 'process', status, processID, created, ...(started ? { started } : {}), ...(finished ? { finished } : {}) };
}

const JOBS: StatusInfo[] = [
  job('a', '2025-03-01T09:00:00Z', 'successful', 'echo', '2025-03-01T09:00:01Z', '2025-03-01T09:00:11Z'), // 10 s
  job('b', '2025-03-01T10:00:00Z', 'failed', 'hello', '2025-03-01T10:00:02Z', '2025-03-01T10:01:02Z'), // 60 s
  job('c', '2025-03-01T11:00:00Z', 'running', 'echo', '2025-03-01T11:00:00Z'), // running for 3600 s at NOW
  job('d', '2025-03-01T11:30:00Z', 'accepted', 'hello'), // not started: no duration
  job('e', '2025-03-01T10:00:00Z', 'dismissed', 'echo', '2025-03-01T10:00:00Z', '2025-03-01T10:00:30Z'), // same created as b
  { jobID: 'f', type: 'process', status: 'successful' }, // no processID, no created
];

const ids = (jobs: StatusInfo[]): string[] => jobs.map((j) => j.jobID);

t.test('newest first: by created, then by job id descending; jobs without created last', async (t) => {
  t.same(ids([...JOBS].sort(newestFirst)), ['d', 'c', 'e', 'b', 'a', 'f']);
  t.same(ids([...JOBS].reverse().sort(newestFirst)), ['d', 'c', 'e', 'b', 'a', 'f'], 'whatever the input order');
});

t.test('filters keep the order they are given', async (t) => {
  const sorted = [...JOBS].sort(newestFirst);
  const rows: Array<[string, Record<string, unknown>, string[]]> = [
    ['no filter', {}, ['d', 'c', 'e', 'b', 'a', 'f']],
    ['processID', { processID: 'echo' }, ['c', 'e', 'a']],
    ['processID list', { processID: 'hello,echo' }, ['d', 'c', 'e', 'b', 'a']],
    ['processID matching nothing', { processID: 'nope' }, []],
    ['status', { status: 'successful' }, ['a', 'f']],
    ['status list', { status: 'running,accepted' }, ['d', 'c']],
    ['type=process keeps all', { type: 'process' }, ['d', 'c', 'e', 'b', 'a', 'f']],
    ['datetime instant matches created exactly', { datetime: '2025-03-01T10:00:00Z' }, ['e', 'b']],
    ['datetime interval is inclusive', { datetime: '2025-03-01T10:00:00Z/2025-03-01T11:00:00Z' }, ['c', 'e', 'b']],
    ['datetime open start', { datetime: '../2025-03-01T09:30:00Z' }, ['a']],
    ['datetime open end', { datetime: '2025-03-01T11:00:00Z/..' }, ['d', 'c']],
    ['minDuration (running jobs count up to now; not started jobs are left out)', { minDuration: '30' }, ['c', 'e', 'b']],
    ['maxDuration', { maxDuration: '30' }, ['e', 'a']],
    ['min and max together', { minDuration: '20', maxDuration: '100' }, ['e', 'b']],
    ['filters combine', { processID: 'echo', status: 'successful,dismissed' }, ['e', 'a']],
  ];
  for (const [what, query, want] of rows) t.same(ids(filterJobs(sorted, parse(query), NOW)), want, what);
});

t.test('duration of a job', async (t) => {
  t.equal(durationSeconds(JOBS[0]!, NOW), 10, 'finished: started → finished');
  t.equal(durationSeconds(JOBS[2]!, NOW), 3600, 'running: started → now');
  t.equal(durationSeconds(JOBS[3]!, NOW), undefined, 'not started: none');
});

t.test('paging', async (t) => {
  const items = Array.from({ length: 7 }, (_, i) => i);
  const rows: Array<[string, Record<string, unknown>, { items: number[]; hasNext: boolean; hasPrev: boolean }]> = [
    ['first page', { limit: '3' }, { items: [0, 1, 2], hasNext: true, hasPrev: false }],
    ['middle page', { limit: '3', offset: '3' }, { items: [3, 4, 5], hasNext: true, hasPrev: true }],
    ['last, short page', { limit: '3', offset: '6' }, { items: [6], hasNext: false, hasPrev: true }],
    ['exactly the rest', { limit: '4', offset: '3' }, { items: [3, 4, 5, 6], hasNext: false, hasPrev: true }],
    ['beyond the end', { limit: '3', offset: '20' }, { items: [], hasNext: false, hasPrev: true }],
    ['all on one page', { limit: '50' }, { items, hasNext: false, hasPrev: false }],
  ];
  for (const [what, query, want] of rows) t.same(page(items, parse(query)), want, what);
});
