/**
 * `k8s-job-manager local` as a user runs it: a child process, the seed's
 * curl flow and a kubectl-made labelled Job, both logs in the embedded S3,
 * then SIGTERM: exit 0 and nothing left behind (processes, ports).
 */
import t from 'tap';
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { waitFor } from '../helpers/wait-for.js';
import { childEnv } from '../helpers/child-env.js';

const root = path.resolve(import.meta.dirname, '..', '..');

function kubectl(kubeconfig: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile('kubectl', ['--kubeconfig', kubeconfig, ...args], { timeout: 30_000 }, (error, stdout, stderr) =>
      error ? reject(new Error(stderr || error.message)) : resolve(stdout),
    ),
  );
}

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    return statSync(full).isDirectory() ? filesUnder(full) : [full];
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}

t.test('local: seed flow, kubectl job, archive, clean shutdown', async (t) => {
  const stateDir = mkdtempSync(path.join(os.tmpdir(), 'local-e2e-'));
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'cmd/main.ts'), 'local', '--port', '0', '--state-dir', stateDir], {
    cwd: root,
    env: childEnv({ LOG_LEVEL: 'error' }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });

  await waitFor(() => output.includes('is ready'), { what: `"is ready" from k8s-job-manager local (output so far: ${output})`, timeoutMs: 60_000 });
  const apiUrl = /API:\s+(\S+)/.exec(output)?.[1];
  const kubeconfig = /kubeconfig:\s+(\S+)/.exec(output)?.[1];
  t.ok(apiUrl && kubeconfig, 'it prints the API URL and the kubeconfig path');
  t.equal(kubeconfig, path.join(stateDir, 'kubeconfig'), 'the kubeconfig is in the state folder');
  t.equal((await fetch(`${apiUrl}/readyz`)).status, 200, '/readyz agrees');

  // The seed's test, with the port changed.
  const response = await fetch(`${apiUrl}/processes/hello-world-k8s/execution`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ inputs: { message: 'Am I in TV, now?', name: 'John Doe' } }),
  });
  t.equal(response.status, 201);
  const { jobID } = (await response.json()) as { jobID: string };

  // A labelled Job made with kubectl, and a long-running one to catch at shutdown.
  const manifest = (name: string, script: string) => ({
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name, labels: { 'pygeoapi.io/managed': 'true' }, annotations: { 'pygeoapi.io/inputs': '{"who": "kubectl"}' } },
    spec: { template: { metadata: { labels: { 'pygeoapi.io/managed': 'true' } }, spec: { restartPolicy: 'Never', containers: [{ name: 'main', image: 'busybox', command: ['sh', '-c', script] }] } } },
  });
  const file = path.join(stateDir, 'job.json');
  writeFileSync(file, JSON.stringify(manifest('by-kubectl', 'echo "inputs=$PYGEOAPI_K8S_MANAGER_INPUTS"')));
  await kubectl(kubeconfig!, ['create', '-f', file]);
  writeFileSync(file, JSON.stringify(manifest('sleeper', 'sleep 300')));
  await kubectl(kubeconfig!, ['create', '-f', file]);

  const archive = path.join(stateDir, 's3');
  // s3rver writes the object file while the upload streams in: wait for the content, not the file.
  const archived = (fragment: string, content: (text: string) => boolean) => {
    const file = filesUnder(archive).find((f) => f.includes(fragment) && f.endsWith('.log._S3rver_object'));
    return file && content(readFileSync(file, 'utf8')) ? file : undefined;
  };
  const greeting = "Hello 'John Doe': 'Am I in TV, now?'";
  const seedLog = await waitFor(() => archived(`pygeoapi-job-${jobID}`, (text) => text.includes(greeting)), { what: 'the hello-world log in the embedded S3', timeoutMs: 60_000 });
  t.match(readFileSync(seedLog, 'utf8'), greeting, 'the seed job\'s log is archived');
  const expected = 'inputs={"who":"kubectl"}\n';
  const kubectlLog = await waitFor(() => archived('by-kubectl', (text) => text.length >= expected.length), { what: 'the kubectl job\'s log in the embedded S3', timeoutMs: 60_000 });
  t.equal(readFileSync(kubectlLog, 'utf8'), expected, 'the kubectl job\'s log is archived, with the inputs the webhook injected');
  const results = await fetch(`${apiUrl}/jobs/${jobID}/results`);
  t.equal(results.status, 200, 'the seed job has results');

  const sleeperPid = await waitFor(async () => {
    const pods = JSON.parse(await kubectl(kubeconfig!, ['get', 'pods', '-l', 'job-name=sleeper', '-o', 'json'])) as { items: Array<{ status?: { containerStatuses?: Array<{ containerID?: string; state?: { running?: unknown } }> } }> };
    const status = pods.items[0]?.status?.containerStatuses?.[0];
    return status?.state?.running && status.containerID ? Number(status.containerID.replace('local://', '')) : undefined;
  }, { what: 'the sleeper container to run' });
  t.ok(alive(sleeperPid), 'the sleeper process runs');

  const server = (parse(readFileSync(kubeconfig!, 'utf8')) as { clusters: Array<{ cluster: { server: string } }> }).clusters[0]!.cluster.server;
  const ports = [Number(new URL(apiUrl!).port), Number(new URL(server).port)];

  child.kill('SIGTERM');
  t.equal(await exited, 0, 'SIGTERM: exit 0');
  t.notOk(alive(sleeperPid), 'no job process is left');
  for (const port of ports) t.notOk(await portOpen(port), `port ${port} is closed`);
});
