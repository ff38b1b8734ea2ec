/**
 * local-cluster driven by the official Kubernetes Python client (Debian's
 * python3-kubernetes, the client of the Python pygeoapi-k8s-manager this
 * project succeeds): list/watch with watch=True and bookmarks, resume and
 * 410, every patch type, logs with follow, leases, and a replica of the
 * manager's finalizer loop that must not busy-poll. Each scenario runs in its
 * own Python process (python/client_scenarios.py) and its own namespace.
 */
import t, { type Test } from 'tap';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CoreV1Api } from '@kubernetes/client-node';
import { startTestCluster } from '../helpers/local-cluster.js';

const PYTHON = '/usr/bin/python3';
const SCRIPT = fileURLToPath(new URL('./python/client_scenarios.py', import.meta.url));

interface Outcome {
  ok: boolean;
  detail: string;
  requests: number;
}

function python(args: string[], timeoutMs = 60_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(PYTHON, args, { timeout: timeoutMs }, (error, stdout, stderr) => {
      resolve({ code: error ? Number((error as NodeJS.ErrnoException).code ?? 1) || 1 : 0, stdout, stderr });
    });
  });
}

const probe = await python(['-c', 'import kubernetes; print(kubernetes.__version__)'], 30_000);
if (probe.code !== 0) {
  t.comment(`SKIP python3-kubernetes is not installed for ${PYTHON} (apt-get install python3-kubernetes): ${probe.stderr.trim().split('\n').pop() ?? ''}`);
  t.pass('skipped: no python3-kubernetes');
} else {
  t.comment(`python3-kubernetes ${probe.stdout.trim()}`);
  const cluster = await startTestCluster(t, { bookmarkIntervalMs: 300 });
  const core = cluster.kubeConfig().makeApiClient(CoreV1Api);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'e2e-python-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const kubeconfig = path.join(dir, 'kubeconfig');
  await cluster.writeKubeconfig(kubeconfig);
  const results: string[] = [];

  const scenario = (name: string, check: (outcome: Outcome, t: Test) => void = () => undefined, prepare?: (ns: string) => Promise<string>) =>
    t.test(name, async (t) => {
      const ns = `py-${name}`;
      await core.createNamespace({ body: { metadata: { name: ns } } });
      const arg = prepare ? await prepare(ns) : undefined;
      const run = await python([SCRIPT, kubeconfig, ns, name, ...(arg !== undefined ? [arg] : [])]);
      const line = run.stdout.trim().split('\n').pop() ?? '';
      let outcome: Outcome;
      try {
        outcome = JSON.parse(line) as Outcome;
      } catch {
        outcome = { ok: false, detail: `no result (exit ${run.code}): ${run.stderr.trim().slice(-600)}`, requests: 0 };
      }
      results.push(`${name}: ${outcome.ok ? 'pass' : 'FAIL'}`);
      t.ok(outcome.ok, `${name}: ${outcome.detail} (${outcome.requests} requests)`);
      check(outcome, t);
    });

  scenario('list-watch');
  scenario('bookmarks');
  scenario('resume');
  scenario('gone', undefined, async (ns) => {
    const old = await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'old' } } });
    await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'newer' } } });
    cluster.registry.store.compact();
    return old.metadata?.resourceVersion ?? '';
  });
  scenario('patches');
  scenario('logs-follow');
  scenario('leases');
  const pods = 3;
  scenario(
    'finalizer-loop',
    (outcome, t) => {
      // One list and one watch per round, a log read and a patch per pod; a busy poll makes thousands.
      t.ok(outcome.requests <= 12 + 2 * pods, `the loop does not busy-poll: ${outcome.requests} requests for ${pods} pods`);
    },
    async () => String(pods),
  );
  t.teardown(() => console.log(`# python3-kubernetes scenarios: ${results.filter((r) => r.endsWith('pass')).length}/${results.length} pass (${results.join(', ')})`));
}
