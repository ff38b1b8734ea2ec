/**
 * `k8s-job-manager local-cluster --enforce-rbac`: the stand-in run from the
 * CLI refuses what RBAC does not allow (an anonymous list of namespaces gets
 * 403), while the administrator of its kubeconfig may; without the flag the
 * same anonymous request is allowed.
 */
import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { childEnv } from '../helpers/child-env.js';
import { waitFor } from '../helpers/wait-for.js';

const root = path.resolve(import.meta.dirname, '..', '..');

interface Kubeconfig {
  clusters: Array<{ cluster: { server: string; 'certificate-authority-data': string } }>;
  users: Array<{ user: { token: string } }>;
}

function get(url: string, ca: string, token?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = https.get(url, { ca, agent: false, headers: token ? { authorization: `Bearer ${token}` } : {} }, (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    });
    request.on('error', reject);
  });
}

async function run(t: Test, flags: string[]): Promise<{ anonymous: number; admin: number; banner: string }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'local-cluster-cli-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'kubeconfig');
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'cmd/main.ts'), 'local-cluster', '--port', '0', '--kubeconfig', file, ...flags], {
    cwd: root,
    env: childEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  t.teardown(async () => {
    child.kill('SIGTERM');
    await exited;
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const banner = await waitFor(() => (/kubeconfig: /.test(output) ? output : undefined), { what: 'local-cluster to be ready', timeoutMs: 60_000 });
  const config = parse(await readFile(file, 'utf8')) as Kubeconfig;
  const server = config.clusters[0]!.cluster.server;
  const ca = Buffer.from(config.clusters[0]!.cluster['certificate-authority-data'], 'base64').toString('utf8');
  const url = `${server}/api/v1/namespaces`;
  return { anonymous: await get(url, ca), admin: await get(url, ca, config.users[0]!.user.token), banner };
}

t.test('--enforce-rbac refuses what RBAC does not allow', async (t) => {
  const enforced = await run(t, ['--enforce-rbac']);
  t.match(enforced.banner, /\(RBAC enforced\)/, 'the banner says so');
  t.equal(enforced.anonymous, 403, 'an anonymous list of namespaces is refused');
  t.equal(enforced.admin, 200, 'the kubeconfig\'s administrator may');
});

t.test('without it every request is allowed', async (t) => {
  const open = await run(t, []);
  t.notMatch(open.banner, /RBAC enforced/);
  t.equal(open.anonymous, 200, 'the anonymous list is allowed');
});
