/**
 * The project's own manifests against local-cluster with RBAC enforced:
 * `kubectl apply -k k8s-manifests --dry-run=server` is accepted (after the
 * namespaces exist, as on a fresh real cluster, where a server dry run cannot
 * create them), a real apply installs them, and the ServiceAccounts get
 * exactly the rights their Roles grant (`kubectl auth can-i --as`).
 */
import t from 'tap';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startEnforcingCluster } from '../helpers/local-cluster.js';
import { findKubectlBinaries, kubectl, type KubectlContext } from '../helpers/kubectl.js';

const manifests = fileURLToPath(new URL('../../k8s-manifests', import.meta.url));
const [binary] = await findKubectlBinaries();
if (!binary) {
  t.fail('no kubectl found on PATH nor in the Cloud SDK');
} else {
  const cluster = await startEnforcingCluster(t);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'e2e-manifests-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const context: KubectlContext = { kubeconfig: path.join(dir, 'kubeconfig'), cacheDir: path.join(dir, 'cache') };
  await cluster.writeKubeconfig(context.kubeconfig);
  const k = (...args: string[]) => kubectl(binary, context, args, { timeoutMs: 120_000 });

  t.test('apply -k k8s-manifests --dry-run=server, then for real', async (t) => {
    for (const ns of ['k8s-job-manager', 'pygeoapi-jobs']) t.equal((await k('create', 'namespace', ns)).code, 0, `namespace ${ns}`);
    const dry = await k('apply', '-k', manifests, '--dry-run=server');
    t.equal(dry.code, 0, `server dry run accepted: ${dry.stderr}`);
    t.match(dry.stdout, /role\.rbac\.authorization\.k8s\.io\/k8s-job-manager-api created \(server dry run\)/);
    t.match(dry.stdout, /mutatingwebhookconfiguration\.admissionregistration\.k8s\.io\/k8s-job-manager created \(server dry run\)/);
    t.equal((await k('get', 'roles', '-A', '-o', 'name')).stdout, '', 'the dry run stored nothing');
    const applied = await k('apply', '-k', manifests);
    t.equal(applied.code, 0, `applied: ${applied.stderr}`);
    const again = await k('apply', '-k', manifests, '--dry-run=server');
    t.equal(again.code, 0, `a second dry run against the installed objects: ${again.stderr}`);
  });

  t.test("each part's ServiceAccount may do what its Role says, and no more", async (t) => {
    const sa = (name: string) => `system:serviceaccount:k8s-job-manager:${name}`;
    const cases: Array<[string, string[], 'yes' | 'no']> = [
      [sa('k8s-job-manager-api'), ['create', 'jobs.batch', '-n', 'pygeoapi-jobs'], 'yes'],
      [sa('k8s-job-manager-api'), ['get', 'pods', '--subresource=log', '-n', 'pygeoapi-jobs'], 'yes'],
      [sa('k8s-job-manager-api'), ['create', 'jobs.batch', '-n', 'default'], 'no'],
      [sa('k8s-job-manager-api'), ['get', 'secrets', '-n', 'pygeoapi-jobs'], 'no'],
      [sa('k8s-job-manager-controller'), ['patch', 'pods', '-n', 'pygeoapi-jobs'], 'yes'],
      [sa('k8s-job-manager-controller'), ['delete', 'pods', '-n', 'pygeoapi-jobs'], 'no'],
      [sa('k8s-job-manager-webhook'), ['get', 'secrets/k8s-job-manager-webhook-tls', '-n', 'k8s-job-manager'], 'yes'],
      [sa('k8s-job-manager-webhook'), ['get', 'secrets/k8s-job-manager-webhook-ca', '-n', 'k8s-job-manager'], 'yes'],
      [sa('k8s-job-manager-webhook'), ['get', 'secrets/other', '-n', 'k8s-job-manager'], 'no'],
      [sa('k8s-job-manager-api'), ['update', 'jobs.batch', '-n', 'pygeoapi-jobs'], 'no'],
      [sa('k8s-job-manager-controller'), ['list', 'events', '-n', 'pygeoapi-jobs'], 'no'],
      [sa('k8s-job-manager-webhook'), ['patch', 'mutatingwebhookconfigurations/k8s-job-manager'], 'yes'],
      [sa('k8s-job-manager-webhook'), ['patch', 'mutatingwebhookconfigurations/someone-elses'], 'no'],
    ];
    for (const [user, args, expected] of cases) {
      const result = await k('auth', 'can-i', ...args, '--as', user);
      t.equal(result.stdout.trim().split(/\s/)[0], expected, `${user.split(':').pop()} can-i ${args.join(' ')}: ${expected}`);
    }
  });
}
