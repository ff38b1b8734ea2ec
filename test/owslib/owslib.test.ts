/**
 * A real OGC client against the server: OWSLib (Debian's python3-owslib)
 * lists and describes processes, executes echo synchronously (no Prefer;
 * raw and document responses) and asynchronously (Prefer: respond-async),
 * polls the job and fetches its results, with the API running on a local
 * cluster.
 */
import t from 'tap';
import { execFile, execFileSync } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { startTestCluster } from '../helpers/local-cluster.js';
import { startApiHarness } from '../helpers/api-e2e.js';
import { API_FIXTURES, REPO_ROOT } from '../helpers/api-processes.js';

/** Debian's python3 (where python3-owslib installs), not one a version manager put first on PATH. */
const PYTHON = process.env.OWSLIB_PYTHON ?? '/usr/bin/python3';

function owslibMissing(): string | undefined {
  try {
    execFileSync(PYTHON, ['-c', 'import owslib.ogcapi.processes'], { stdio: 'ignore' });
    return undefined;
  } catch {
    return `OWSLib not importable by ${PYTHON} (apt-get install python3-owslib, or set OWSLIB_PYTHON)`;
  }
}

const missing = owslibMissing();
if (missing) {
  t.pass('OWSLib session', { skip: missing });
} else {
  const NS = 'owslib';
  const cluster = await startTestCluster(t, { namespaces: [NS] });
  const api = await startApiHarness(t, { cluster, namespace: NS, configFile: path.join(API_FIXTURES, 'browser.yaml'), env: { STEP_DIR: '/nonexistent' } });

  t.test('OWSLib: discovery, sync and async execution, job status and results', async (t) => {
    const { stdout } = await promisify(execFile)(PYTHON, [path.join(REPO_ROOT, 'test', 'owslib', 'client.py'), `${api.api.url}/`, '60'], { timeout: 120_000 });
    const session = JSON.parse(stdout) as {
      landing: { title: string; links: Array<{ rel: string }> };
      conformance: { conformsTo: string[] };
      process_ids: string[];
      echo_inputs: string[];
      echo_job_control: string[];
      sync: { status: number; content_type: string; text: string };
      sync_document: { status: number; body: unknown };
      async: { status: number; preference_applied: string | null; job_id: string; statuses: string[]; message: string; results: unknown };
      jobs: string[];
    };
    t.equal(session.landing.title, 'k8s-job-manager', 'landing page');
    t.ok(session.conformance.conformsTo.some((c) => c.endsWith('/conf/core')), 'conformance');
    t.same(session.process_ids.sort(), ['echo', 'hello-world-k8s', 'sleeper'], 'process list');
    t.same(session.echo_inputs, ['pause', 'stringInput'], 'process description');
    t.same(session.sync, { status: 200, content_type: 'text/plain', text: 'sync from OWSLib' }, 'sync execution without `response`: the raw output');
    t.same(session.sync_document, { status: 200, body: { stringInput: 'sync document' } }, 'sync execution with response document: the results document');
    t.equal(session.async.status, 201, 'async execution answers 201');
    t.equal(session.async.preference_applied, 'respond-async');
    t.equal(session.async.statuses[session.async.statuses.length - 1], 'successful', `polled to successful: ${session.async.statuses.join(' → ')}`);
    t.equal(session.async.message, 'Completed', 'the message of a successful job, as the Python manager gives it');
    t.same(session.async.results, { stringInput: 'async from OWSLib' }, 'results (response document)');
    t.ok(session.jobs.includes(session.async.job_id), 'the job is listed');
  });
}
