/**
 * The kubectl matrix: one workflow — imperative create (protobuf bodies from
 * 1.32+), create -f, wait, get -o wide, logs -f, apply, apply --server-side
 * with a conflict, explain, auth can-i / whoami, create token, delete — run
 * by every kubectl binary of this machine (1.27–1.33 where present; those
 * missing are reported, not failed). Each step is one assertion, and a
 * closing comment counts the steps that passed per binary.
 */
import t from 'tap';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startTestCluster } from '../helpers/local-cluster.js';
import { findKubectlBinaries, kubectl, type KubectlContext, type KubectlResult } from '../helpers/kubectl.js';

const WANTED = [27, 28, 29, 30, 31, 32, 33];
const binaries = await findKubectlBinaries();
const have = new Set(binaries.map((b) => Number(/^kubectl\.1\.(\d+)$/.exec(b.label)?.[1])));
for (const minor of WANTED) if (!have.has(minor)) t.comment(`SKIP kubectl 1.${minor}: this machine has no kubectl.1.${minor}`);

const jobYaml = (name: string, script: string): string => `apiVersion: batch/v1
kind: Job
metadata:
  name: ${name}
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: main
          image: busybox:1.36
          command: [sh, -c, '${script}']
`;
const configMapYaml = (value: string): string => `apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  mode: "${value}"
`;

const serviceYaml = (ports: Array<[number, string]>): string => `apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector:
    app: web
  ports:
${ports.map(([port, name]) => `    - name: ${name}\n      port: ${port}\n`).join('')}`;

if (binaries.length === 0) {
  t.fail('no kubectl found on PATH nor in the Cloud SDK');
} else {
  const cluster = await startTestCluster(t);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'e2e-kubectl-matrix-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const kubeconfig = path.join(dir, 'kubeconfig');
  await cluster.writeKubeconfig(kubeconfig);
  const summary: string[] = [];

  for (const binary of binaries.filter((b) => b.label !== 'kubectl')) {
    t.test(binary.label, async (t) => {
      const context: KubectlContext = { kubeconfig, cacheDir: path.join(dir, `cache-${binary.label}`) };
      const k = (...args: string[]): Promise<KubectlResult> => kubectl(binary, context, args, { timeoutMs: 60_000 });
      const ns = `m-${binary.label.replace(/\./g, '-')}`;
      const files = path.join(dir, ns);
      await mkdir(files);
      const file = async (name: string, text: string): Promise<string> => {
        await writeFile(path.join(files, name), text);
        return path.join(files, name);
      };
      let passed = 0;
      let total = 0;
      const step = async (name: string, run: () => Promise<KubectlResult>, check: (r: KubectlResult) => boolean): Promise<boolean> => {
        total++;
        const result = await run();
        const ok = check(result);
        if (ok) passed++;
        t.ok(ok, `${name}${ok ? '' : ` (exit ${result.code}; stdout: ${result.stdout.trim().slice(0, 300)}; stderr: ${result.stderr.trim().replace(/[^\x20-\x7e\n]/g, '?').slice(0, 300)})`}`);
        return ok;
      };
      const succeeds = (pattern: RegExp) => (r: KubectlResult) => r.code === 0 && pattern.test(r.stdout);

      await step('create namespace', () => k('create', 'namespace', ns), succeeds(new RegExp(`namespace/${ns} created`)));
      await step('create configmap (imperative)', () => k('create', 'configmap', 'imperative', '-n', ns, '--from-literal=a=b'), succeeds(/configmap\/imperative created/));
      await step('create -f job', async () => k('create', '-f', await file('job.yaml', jobYaml('hello', 'echo one; sleep 1; echo two')), '-n', ns), succeeds(/job\.batch\/hello created/));
      await step('logs -f follows until the container ends', () => k('logs', '-f', 'job/hello', '-n', ns, '--pod-running-timeout=30s'), succeeds(/^one\ntwo\n$/));
      await step('wait --for=condition=complete', () => k('wait', '--for=condition=complete', 'job/hello', '-n', ns, '--timeout=30s'), succeeds(/condition met/));
      await step('get jobs -o wide', () => k('get', 'jobs', '-n', ns, '-o', 'wide'), succeeds(/^NAME\s+STATUS\s+COMPLETIONS\s+DURATION\s+AGE\s+CONTAINERS\s+IMAGES\s+SELECTOR\n/));
      await step('get pods -o wide', () => k('get', 'pods', '-n', ns, '-o', 'wide'), succeeds(/^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\s+IP\s+NODE\s+NOMINATED NODE\s+READINESS GATES\n.*local-node/));
      const cm = await file('settings.yaml', configMapYaml('one'));
      await step('apply -f', () => k('apply', '-f', cm, '-n', ns), succeeds(/configmap\/settings created/));
      await step('apply -f again: unchanged', () => k('apply', '-f', cm, '-n', ns), succeeds(/configmap\/settings unchanged/));
      const ssa = await file('ssa.yaml', configMapYaml('two').replace('settings', 'ssa'));
      await step('apply --server-side', () => k('apply', '--server-side', '-f', ssa, '-n', ns), succeeds(/configmap\/ssa serverside-applied/));
      await step('apply --server-side by another manager conflicts', async () => k('apply', '--server-side', '--field-manager=other', '-f', await file('ssa2.yaml', configMapYaml('three').replace('settings', 'ssa')), '-n', ns), (r) => r.code !== 0 && /[Cc]onflict/.test(r.stderr) && /\.data\.mode/.test(r.stderr));
      await step('explain a field', () => k('explain', 'jobs.spec.backoffLimit'), succeeds(/FIELD:\s+backoffLimit <integer>[\s\S]*Specifies the number of retries before marking this job failed/));
      await step('explain a list of objects', () => k('explain', 'pods.spec.containers'), succeeds(/FIELD:\s+containers <\[\]Container>[\s\S]*image\t<string>/));
      // Client-side apply computes a strategic merge patch (the list of ports merged by port) with the schemas served.
      await step('apply -f a service', async () => k('apply', '-f', await file('svc.yaml', serviceYaml([[80, 'http'], [443, 'https']])), '-n', ns), succeeds(/service\/web created/));
      await step('apply -f a changed list: configured', async () => k('apply', '-f', await file('svc2.yaml', serviceYaml([[80, 'web'], [8080, 'alt']])), '-n', ns), succeeds(/service\/web configured/));
      await step('the list is what was applied', () => k('get', 'service', 'web', '-n', ns, '-o', 'jsonpath={range .spec.ports[*]}{.port}={.name} {end}'), succeeds(/^80=web 8080=alt $/));
      await step('auth can-i (admin)', () => k('auth', 'can-i', 'create', 'jobs', '-n', ns), succeeds(/^yes/));
      await step('create serviceaccount', () => k('create', 'serviceaccount', 'bot', '-n', ns), succeeds(/serviceaccount\/bot created/));
      await step('auth can-i --as a ServiceAccount', () => k('auth', 'can-i', 'create', 'jobs', '-n', ns, '--as', `system:serviceaccount:${ns}:bot`), (r) => r.code === 1 && /^no/.test(r.stdout));
      await step('create token', () => k('create', 'token', 'bot', '-n', ns), succeeds(/^ey[\w-]+\.[\w-]+\.[\w-]+\s*$/));
      await step('auth whoami', () => k('auth', 'whoami'), succeeds(/kubernetes-admin/));
      await step('delete --wait', () => k('delete', 'job', 'hello', '-n', ns, '--wait=true'), succeeds(/job\.batch "hello" deleted/));
      summary.push(`${binary.label}: ${passed}/${total}`);
    });
  }
  t.teardown(() => console.log(`# kubectl matrix: ${summary.join(', ')}`));
}
