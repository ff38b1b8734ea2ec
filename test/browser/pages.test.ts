/**
 * The HTML pages in a real headless Chromium against the API on a local
 * cluster: execute hello-world from its form and watch the job page go from
 * accepted to successful with the progress bar following the job's progress
 * markers, read the log tail and the results, see inline form errors, filter
 * the job list, and dismiss a running job with the page's button. Every
 * page is checked with axe-core and saved as a screenshot artifact.
 */
import t, { type Test } from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { startTestCluster } from '../helpers/local-cluster.js';
import { startApiHarness } from '../helpers/api-e2e.js';
import { API_FIXTURES } from '../helpers/api-processes.js';
import { axeViolations, CHROMIUM_MISSING, screenshot, startBrowser } from '../helpers/browser.js';
import { waitFor } from '../helpers/wait-for.js';

// Several pages and two jobs in a real browser: on a loaded machine this file may need more than the default timeout.
t.setTimeout(600_000);
if (CHROMIUM_MISSING) {
  t.pass('browser tests', { skip: CHROMIUM_MISSING });
} else {
  const steps = mkdtempSync(path.join(tmpdir(), 'browser-steps-'));
  t.teardown(() => rmSync(steps, { recursive: true, force: true }));
  const NS = 'browser';
  const cluster = await startTestCluster(t, { namespaces: [NS] });
  const api = await startApiHarness(t, { cluster, namespace: NS, configFile: path.join(API_FIXTURES, 'browser.yaml'), env: { STEP_DIR: steps } });
  const browser = await startBrowser(t);
  const page = await browser.newPage();
  const url = (p: string): string => `${api.api.url}${p}`;

  const checkPage = async (t: Test, name: string): Promise<void> => {
    t.same(await axeViolations(page), [], `${name}: no accessibility violations`);
    await screenshot(page, name);
  };

  interface JobView {
    status: string;
    shownStatus: string;
    progress?: number;
    message: string;
    log: string;
  }
  /** What the job page shows now (evaluated in the page; no DOM types here). */
  const jobView = (p: Page): Promise<JobView> =>
    p.evaluate(`(() => {
      const root = document.getElementById('job');
      const bar = document.getElementById('progress');
      return {
        status: root ? root.dataset.status : '',
        shownStatus: root ? root.querySelector('[data-field="status"]').textContent : '',
        progress: bar && bar.hasAttribute('value') ? bar.value : undefined,
        message: root ? root.querySelector('[data-field="message"]').textContent : '',
        log: document.getElementById('log') ? document.getElementById('log').textContent : '',
      };
    })()`);

  t.test('landing, conformance and process list pages', async (t) => {
    const response = await page.goto(url('/'));
    t.equal(response?.status(), 200);
    t.match(response?.headers()['content-type'], /^text\/html/, 'a browser gets HTML');
    t.equal(await page.locator('h1').textContent(), 'k8s-job-manager');
    await checkPage(t, 'landing');
    await page.getByRole('link', { name: 'Conformance', exact: true }).first().click();
    t.match(await page.locator('main').textContent(), /html/, 'the html conformance class is declared');
    await checkPage(t, 'conformance');
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Processes' }).click();
    t.equal(await page.locator('tbody tr').count(), 3, 'every process listed');
    await checkPage(t, 'processes');
    const json = await page.locator('link[rel="alternate"][type="application/json"]').getAttribute('href');
    t.equal(json, '/processes?f=json', 'the page names its JSON representation');
  });

  t.test('the form shows what is wrong next to the field', async (t) => {
    await page.goto(url('/processes/hello-world-k8s'));
    await page.getByRole('button', { name: 'Execute' }).click();
    await page.waitForSelector('#err-name');
    t.match(await page.locator('#err-name').textContent(), /Name: required/);
    t.match(await page.locator('#in-name').getAttribute('aria-describedby'), /err-name/, 'the error is tied to its field');
    t.match(await page.getByRole('alert').textContent(), /inputs need fixing/);
    await checkPage(t, 'process-error');
  });

  t.test('execute hello-world from the form: accepted to successful, progress bar moving, log tail, results', async (t) => {
    await page.goto(url('/processes/hello-world-k8s'));
    await checkPage(t, 'process');
    await page.getByLabel('Name').fill('Ada Lovelace');
    await page.getByLabel('Message').fill('from the browser');
    await page.getByRole('button', { name: 'Execute' }).click();
    await page.waitForURL(/\/jobs\/[0-9a-f-]{36}$/);
    const jobId = page.url().split('/').pop()!;
    const seen: Array<{ status: string; progress?: number }> = [];
    const watch = (what: string, until: (v: JobView) => boolean) =>
      waitFor(
        async () => {
          const view = await jobView(page);
          const last = seen[seen.length - 1];
          if (!last || last.status !== view.status || last.progress !== view.progress) seen.push({ status: view.status, progress: view.progress });
          return until(view) ? view : undefined;
        },
        { what, timeoutMs: 30_000, intervalMs: 50 },
      );
    await watch('the first progress marker on the page', (v) => v.progress === 10);
    t.equal((await jobView(page)).message, 'warming up', 'the marker message is the job message');
    await checkPage(t, 'job-running');
    writeFileSync(path.join(steps, `${jobId}.1`), '');
    await watch('the second progress marker on the page', (v) => v.progress === 60 && v.message === 'greeting');
    await watch('the log tail', (v) => v.log.includes('PYGEOAPI_K8S_MANAGER_PROGRESS: 60 greeting'));
    writeFileSync(path.join(steps, `${jobId}.2`), '');
    const final = await watch('the page to show the job successful', (v) => v.status === 'successful' && v.shownStatus === 'successful');
    t.equal(final.progress, 100, 'the bar is full');
    const statuses = seen.map((s) => s.status).filter((s, i, all) => all[i - 1] !== s);
    t.ok(['accepted', 'running'].includes(statuses[0]!), `started accepted or running: ${statuses.join(' → ')}`);
    t.same(statuses.filter((s) => s !== 'accepted'), ['running', 'successful'], 'then running, then successful');
    const progress = seen.map((s) => s.progress).filter((p): p is number => p !== undefined);
    t.same([...new Set(progress)].filter((p) => p > 0), [10, 60, 100], `the bar moved 10 → 60 → 100 (${progress.join(', ')})`);
    await page.waitForSelector('#results-heading');
    t.match(await page.locator('pre.value').first().textContent(), /Hello 'Ada Lovelace': 'from the browser'/, 'the result is on the page');
    const download = await page.getByRole('link', { name: 'Download results' }).getAttribute('href');
    const results = await api.request('GET', download!);
    t.equal(results.status, 200, 'the download link works');
    t.same(results.json(), { result: "Hello 'Ada Lovelace': 'from the browser'" }, 'the raw output (the form asks for no response mode: raw, the default)');
    t.equal((await api.request('GET', `/jobs/${jobId}`)).json<{ message: string }>().message, 'Completed', 'the message of the successful job');
    await waitFor(async () => (await jobView(page)).log.includes('Hello'), { what: 'the full log on the finished page', timeoutMs: 10_000 });
    await checkPage(t, 'job');
  });

  t.test('the job list filters by status and links to the job', async (t) => {
    await page.goto(url('/jobs'));
    await page.getByLabel('successful').check();
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/status=successful/);
    const rows = page.locator('tbody tr');
    t.equal(await rows.count(), 1, 'the one successful job');
    t.match(await rows.first().textContent(), /hello-world-k8s.*successful.*100%/s);
    t.ok(await page.getByLabel('successful').isChecked(), 'the filter stays selected');
    await checkPage(t, 'jobs');
    await page.getByLabel('running').check();
    await page.getByLabel('successful').uncheck();
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/status=running/);
    t.match(await page.locator('main').textContent(), /No jobs match/);
  });

  t.test('dismiss a running job from its page', async (t) => {
    const started = await api.request('POST', '/processes/sleeper/execution', { body: { inputs: {} } });
    t.equal(started.status, 201);
    const jobId = started.json<{ jobID: string }>().jobID;
    await page.goto(url(`/jobs/${jobId}`));
    await waitFor(async () => (await jobView(page)).progress === 5, { what: 'the sleeper to report progress', timeoutMs: 30_000, intervalMs: 50 });
    await waitFor(async () => (await jobView(page)).log.includes('going to sleep'), { what: 'the sleeper log tail', timeoutMs: 10_000 });
    await page.getByRole('button', { name: 'Dismiss job' }).click();
    await waitFor(async () => (await jobView(page)).status === 'dismissed', { what: 'the page to show the job dismissed', timeoutMs: 30_000 });
    t.equal(await page.getByRole('button', { name: 'Dismiss job' }).count(), 0, 'no dismiss button on a dismissed job');
    const status = await api.request('GET', `/jobs/${jobId}`);
    t.equal(status.json().status, 'dismissed', 'the API agrees');
    await checkPage(t, 'job-dismissed');
  });

  t.test('a cross-site form post is refused', async (t) => {
    const response = await api.request('POST', '/processes/echo/execution', {
      body: 'input.stringInput=x',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'https://elsewhere.example' },
    });
    t.equal(response.status, 403);
    t.match(response.json().detail, /another site/);
  });
}
