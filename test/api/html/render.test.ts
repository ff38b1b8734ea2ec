/**
 * The HTML side's pure parts, by tables: escaping, content negotiation, the
 * execute form both ways, the cross-site form check, durations, live
 * progress in status documents, and what the pages show to whom.
 */
import t from 'tap';
import type { V1Pod } from '@kubernetes/client-node';
import { escapeHtml, html, raw } from '../../../api/html/template.js';
import { negotiateFormat } from '../../../api/html/negotiate.js';
import { fieldFor, parseForm, type InputDoc } from '../../../api/html/form-inputs.js';
import { crossSiteForm } from '../../../api/html/respond.js';
import { formatDuration, jobPage, jobListPage } from '../../../api/html/job-pages.js';
import { landingPage, processPage, processListPage, conformancePage, executeForm } from '../../../api/html/discovery-pages.js';
import { errorPage } from '../../../api/html/job-pages.js';
import { runningContainers, withProgress } from '../../../api/progress/progress-tracker.js';
import type { StatusInfo } from '../../../lib/job-status.js';

const site = { root: '/ogc', title: 'Test <server>' };
const HOSTILE = '<script>alert("x")</script>';

t.test('html escapes interpolations unless they are Html', async (t) => {
  t.equal(escapeHtml(`<a href="x">'&'</a>`), '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  t.equal(html`<p>${HOSTILE}</p>`.text, '<p>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;</p>');
  t.equal(html`<p>${html`<b>${'&'}</b>`}</p>`.text, '<p><b>&amp;</b></p>', 'nested templates are not escaped twice');
  t.equal(html`${['a', html`<i>b</i>`, 3]}`.text, 'a<i>b</i>3', 'arrays join');
  t.equal(html`[${undefined}${null}${false}]`.text, '[]', 'nothing for undefined, null, false');
  t.equal(html`${raw('<hr>')}`.toString(), '<hr>');
});

t.test('content negotiation', async (t) => {
  const rows: Array<[string | undefined, string | undefined, 'html' | 'json']> = [
    [undefined, undefined, 'json'],
    [undefined, '*/*', 'json'],
    [undefined, 'application/json', 'json'],
    [undefined, 'text/html', 'html'],
    [undefined, 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8', 'html'],
    [undefined, 'application/json, text/html', 'json'],
    [undefined, 'text/html;q=0.5, application/json', 'json'],
    [undefined, 'text/html, application/json;q=0.5', 'html'],
    [undefined, 'text/html;q=0', 'json'],
    [undefined, 'text/*, application/json;q=0.1', 'json'],
    [undefined, 'text/html;q=abc', 'json'],
    ['html', 'application/json', 'html'],
    ['json', 'text/html', 'json'],
  ];
  for (const [f, accept, want] of rows) t.equal(negotiateFormat(f, accept), want, `f=${String(f)} Accept: ${String(accept)}`);
});

t.test('form fields from input schemas', async (t) => {
  const rows: Array<[string, InputDoc, Record<string, unknown>]> = [
    ['name', { schema: { type: 'string' } }, { kind: 'text', required: true, name: 'input.name' }],
    ['secret', { schema: { type: 'string', format: 'password' }, minOccurs: 0 }, { kind: 'password', required: false }],
    ['token', { schema: { type: 'string' } }, { kind: 'password' }],
    ['n', { schema: { type: 'integer', minimum: 1, maximum: 9 } }, { kind: 'integer', min: 1, max: 9 }],
    ['x', { schema: { type: 'number' } }, { kind: 'number' }],
    ['b', { schema: { type: 'boolean' } }, { kind: 'boolean' }],
    ['c', { schema: { type: 'string', enum: ['a', 'b'] } }, { kind: 'select', options: ['a', 'b'] }],
    ['o', { schema: { type: 'object' } }, { kind: 'json' }],
    ['many', { schema: { type: 'string' }, maxOccurs: 'unbounded' }, { kind: 'json' }],
    ['any', {}, { kind: 'json', required: true }],
  ];
  for (const [id, doc, want] of rows) t.match(fieldFor(id, doc), want, id);
});

t.test('submitted forms become typed inputs, with errors per input', async (t) => {
  const inputs: Record<string, InputDoc> = {
    name: { schema: { type: 'string' } },
    note: { schema: { type: 'string' }, minOccurs: 0 },
    count: { schema: { type: 'integer' }, minOccurs: 0 },
    ratio: { schema: { type: 'number' }, minOccurs: 0 },
    flag: { schema: { type: 'boolean' }, minOccurs: 0 },
    shape: { schema: { type: 'object' }, minOccurs: 0 },
    token: { schema: { type: 'string' } },
  };
  const rows: Array<[string, Record<string, string | string[]>, Record<string, unknown>, Record<string, string>, string | undefined]> = [
    ['all typed', { 'input.name': 'Ada', 'input.count': '3', 'input.ratio': '0.5', 'input.flag': 'on', 'input.shape': '{"a":1}', 'input.token': 't', mode: 'sync' }, { name: 'Ada', count: 3, ratio: 0.5, flag: true, shape: { a: 1 }, token: 't' }, {}, 'sync'],
    ['optional left empty', { 'input.name': 'Ada', 'input.note': ' ', 'input.count': '' }, { name: 'Ada', flag: false }, {}, undefined],
    ['required missing', { 'input.note': 'x' }, { note: 'x', flag: false }, { name: 'required' }, undefined],
    ['bad numbers and JSON', { 'input.name': 'A', 'input.count': '1.5', 'input.ratio': 'abc', 'input.shape': '{' }, { name: 'A', flag: false }, { count: 'not a whole number: "1.5"', ratio: 'not a number: "abc"', shape: 'not valid JSON' }, undefined],
    ['repeated field: the last wins; unknown mode ignored', { 'input.name': ['A', 'B'], mode: 'later' }, { name: 'B', flag: false }, {}, undefined],
  ];
  for (const [what, form, want, errors, mode] of rows) {
    const got = parseForm(inputs, form);
    t.same(got.inputs, want, `${what}: inputs`);
    t.same(got.errors, errors, `${what}: errors`);
    t.equal(got.mode, mode, `${what}: mode`);
  }
});

t.test('cross-site form posts', async (t) => {
  const url = 'https://ogc.example/ogc';
  const rows: Array<[Record<string, string>, boolean]> = [
    [{}, false],
    [{ 'sec-fetch-site': 'same-origin' }, false],
    [{ 'sec-fetch-site': 'none' }, false],
    [{ 'sec-fetch-site': 'cross-site', origin: 'https://ogc.example' }, true],
    [{ 'sec-fetch-site': 'same-site' }, true],
    [{ origin: 'https://ogc.example' }, false],
    [{ origin: 'http://127.0.0.1:5000', host: '127.0.0.1:5000' }, false],
    [{ origin: 'https://evil.example', host: 'ogc.example' }, true],
    [{ origin: 'null' }, true],
  ];
  for (const [headers, want] of rows) t.equal(crossSiteForm(headers, url), want, JSON.stringify(headers));
});

t.test('durations', async (t) => {
  const rows: Array<[number | undefined, string | undefined]> = [[undefined, undefined], [-1, undefined], [Number.NaN, undefined], [0, '0 s'], [59.4, '59 s'], [125, '2 min 5 s'], [3 * 3600 + 120, '3 h 2 min']];
  for (const [s, want] of rows) t.equal(formatDuration(s), want, String(s));
});

const running: StatusInfo = { jobID: 'j1', processID: 'p', type: 'process', status: 'running', message: 'job is running', created: '2025-01-01T00:00:00.000Z', started: '2025-01-01T00:00:01.000Z' };

t.test('live progress stands in running status documents only', async (t) => {
  t.same(withProgress(running, { progress: 40, message: 'half' }), { ...running, progress: 40, message: 'half' });
  t.same(withProgress(running, { progress: 40 }), { ...running, progress: 40 }, 'no marker message: the status message stays');
  t.same(withProgress(running, undefined), running, 'no marker: no progress');
  const done: StatusInfo = { ...running, status: 'successful', progress: 100 };
  t.same(withProgress(done, { progress: 40 }), done, 'finished jobs keep 100');
  const pod = (uid: string, states: Array<[string, boolean]>, init: Array<[string, boolean]> = []): V1Pod => ({
    metadata: { uid, name: `pod-${uid}` },
    status: {
      initContainerStatuses: init.map(([name, run]) => ({ name, image: 'i', imageID: '', ready: false, restartCount: 0, state: run ? { running: {} } : { terminated: { exitCode: 0 } } })),
      containerStatuses: states.map(([name, run]) => ({ name, image: 'i', imageID: '', ready: run, restartCount: 0, state: run ? { running: {} } : { waiting: {} } })),
    },
  });
  t.same(
    runningContainers([pod('a', [['main', true], ['side', false]], [['init', false]]), pod('b', [['main', false]], [['prep', true]])]),
    [
      { key: 'a/main', pod: 'pod-a', container: 'main' },
      { key: 'b/prep', pod: 'pod-b', container: 'prep' },
    ],
  );
});

t.test('pages: escaped content, landmarks, alternate links, and controls only where allowed', async (t) => {
  const hostile: StatusInfo = { ...running, message: HOSTILE, progress: 30 };
  const all = { readLogs: true, dismiss: true };
  const none = { readLogs: false, dismiss: false };
  const full = jobPage(site, hostile, all, {}, Date.parse('2025-01-01T00:01:01.000Z')).text;
  t.notMatch(full, '<script>alert', 'a job message cannot inject markup');
  t.match(full, '&lt;script&gt;alert');
  t.match(full, '<main id="main">');
  t.match(full, '<title>Job j1 – Test &lt;server&gt;</title>');
  t.match(full, 'href="/ogc/jobs/j1?f=json"', 'the alternate JSON link under the root');
  t.match(full, '<progress id="progress" max="100" value="30"');
  t.match(full, 'Dismiss job');
  t.match(full, 'id="log"');
  t.match(full, '/ogc/static/job.js');
  t.match(full, '1 min 0 s', 'duration');
  const limited = jobPage(site, hostile, none, {}, Date.now()).text;
  t.notMatch(limited, 'Dismiss job', 'no dismiss button without the right');
  t.notMatch(limited, 'id="log"', 'no log tail without the right');
  t.match(limited, 'job.js', 'still live (status) without the log right');
  const unknown = jobPage(site, { ...running, progress: undefined }, none, {}, Date.now()).text;
  t.match(unknown, '<progress id="progress" max="100" aria-label="Progress">running, progress not reported</progress>', 'an indeterminate bar without markers');
  const done = jobPage(site, { ...running, status: 'successful', progress: 100, finished: '2025-01-01T00:00:09.000Z' }, none, { outputs: { greeting: { value: { a: HOSTILE }, mediaType: 'application/json' }, n: 3 } }, Date.now()).text;
  t.notMatch(done, 'job.js', 'a finished page without logs needs no script');
  t.notMatch(done, 'Dismiss job', 'no dismiss button once finished');
  t.match(done, '>Download results<');
  t.match(done, '&quot;a&quot;: &quot;&lt;script&gt;', 'qualified values show their value, escaped');
  const problem = jobPage(site, { ...running, status: 'successful', progress: 100 }, all, { problem: 'gone' }, Date.now()).text;
  t.match(problem, '<p class="problem">gone</p>');
  const big = jobPage(site, { ...running, status: 'successful', progress: 100 }, all, { outputs: { x: 'y'.repeat(5000) } }, Date.now()).text;
  t.match(big, '5000 characters; download for all');

  const list = jobListPage(site, [hostile], [{ href: 'http://x/ogc/jobs?limit=1&offset=1', rel: 'next' }, { href: 'http://x/ogc/jobs?limit=1&offset=0', rel: 'prev' }], { status: ['running'], processID: ['p'], datetime: '..', minDuration: '1', maxDuration: '9', limit: '1' }, ['p', 'q'], 'limit=1', Date.now()).text;
  t.match(list, '<input type="checkbox" name="status" value="running" checked>');
  t.match(list, '<option selected>p</option>');
  t.match(list, 'href="/ogc/jobs?limit=1&amp;offset=1">Older jobs');
  t.match(list, 'Newer jobs');
  t.match(list, '30%');
  t.match(jobListPage(site, [], [], {}, [], '', Date.now()).text, 'No jobs match.');

  const landing = landingPage(site, { title: HOSTILE, description: 'd' }).text;
  t.notMatch(landing, '<script>alert');
  t.match(landing, 'href="/ogc/processes"');
  t.match(conformancePage(site, ['http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/html']).text, '>html</a>');
  const processes = processListPage(site, { processes: [{ id: 'p', title: 'P', jobControlOptions: ['async-execute'] }, { id: 'q' }], links: [{ href: 'http://x/ogc/processes?limit=1&offset=1', rel: 'next' }] }, '').text;
  t.match(processes, 'href="/ogc/processes/p"');
  t.match(processes, 'Next page');
  const doc = {
    id: 'p',
    title: 'P',
    version: '1',
    keywords: ['k'],
    jobControlOptions: ['sync-execute', 'async-execute'],
    links: [{ href: 'https://about.example', rel: 'about', title: 'About' }, { href: 'x', rel: 'alternate' }],
    inputs: { name: { title: 'Name', schema: { type: 'string' } }, n: { schema: { type: 'integer', minimum: 1 } }, c: { schema: { type: 'string', enum: ['a', 'b'] }, minOccurs: 0 }, flag: { schema: { type: 'boolean' } }, o: { schema: { type: 'object' } }, token: { schema: { type: 'string' } } },
    outputs: { out: { title: 'Out', description: 'the output' } },
  };
  const form = processPage(site, doc, { values: { name: HOSTILE, n: '2', c: 'b', flag: 'on', o: '{}' }, errors: { n: 'not a whole number' }, problem: 'fix it' }).text;
  t.notMatch(form, '<script>alert', 'submitted values cannot inject markup');
  t.match(form, 'value="&lt;script&gt;');
  t.match(form, 'aria-describedby="help-n err-n"', 'errors are tied to their field');
  t.match(form, '<option selected>b</option>');
  t.match(form, 'type="checkbox" id="in-flag" name="input.flag" aria-describedby="help-flag" checked');
  t.match(form, 'type="password" autocomplete="off"');
  t.match(form, 'name="mode" value="async" checked');
  t.match(form, 'role="alert"');
  t.match(form, 'href="https://about.example"');
  t.notMatch(form, 'rel">alternate', 'the alternate link is not listed');
  t.match(executeForm(site, { id: 'q', jobControlOptions: ['sync-execute'] }).text, '<input type="hidden" name="mode" value="sync">');
  t.match(executeForm(site, { id: 'q' }).text, 'This process takes no inputs.');
  t.match(errorPage(site, 404, 'Not found', HOSTILE, '/x').text, '&lt;script&gt;');
});
