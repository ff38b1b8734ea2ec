/** The CLI as a user runs it: verbs, --help, exit codes, check-config verdicts. */
import t from 'tap';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { configuredCluster } from '../../cmd/commands/start.js';
import { childEnv } from '../helpers/child-env.js';

const root = path.resolve(import.meta.dirname, '..', '..');

function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', path.join(root, 'cmd/main.ts'), ...args], { cwd: root, env: childEnv(env), timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

t.test('every verb has --help', async (t) => {
  for (const verb of ['start', 'serve', 'local', 'check-config', 'certs', 'history', 'local-cluster']) {
    const { code, stdout } = await cli([verb, '--help']);
    t.equal(code, 0, `${verb} --help exits 0`);
    t.match(stdout, `k8s-job-manager ${verb}`);
    t.match(stdout, 'usage:');
  }
  const overview = await cli(['--help']);
  t.equal(overview.code, 0);
  t.match(overview.stdout, 'check-config');
});

t.test('bad usage exits 2 with a message', async (t) => {
  const unknown = await cli(['frobnicate']);
  t.equal(unknown.code, 2);
  t.match(unknown.stderr, 'unknown verb "frobnicate"');
  const badFlag = await cli(['check-config', '--nope']);
  t.equal(badFlag.code, 2);
  t.match(badFlag.stderr, "check-config: Unknown option '--nope'");
  const noFile = await cli(['check-config']);
  t.equal(noFile.code, 2);
});

t.test('check-config accepts the shipped example and rejects broken files', async (t) => {
  const ok = await cli(['check-config', 'pygeoapi-config.yaml'], { PYGEOAPI_K8S_MANAGER_API_TOKEN: 'x' });
  t.equal(ok.code, 0, ok.stderr);
  t.match(ok.stdout, 'pygeoapi-config.yaml: ok');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cli-'));
  const broken = path.join(dir, 'broken.yaml');
  writeFileSync(broken, 'server:\n  bind: {host: 0.0.0.0, port: 80}\n  url: http://x\nresources:\n  my-proc:\n    type: process\n    processor:\n      name: GenericImageProcessor\n');
  const bad = await cli(['check-config', broken]);
  t.equal(bad.code, 1);
  t.match(bad.stderr, /error: .*broken\.yaml: resources\.my-proc\.processor\.default_image/);
  const missing = await cli(['check-config', path.join(dir, 'nope.yaml')]);
  t.equal(missing.code, 1);
  t.match(missing.stderr, 'nope.yaml');
});

t.test('serve refuses a broken configuration with its problems, not a stack', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cli-'));
  const broken = path.join(dir, 'broken.yaml');
  writeFileSync(broken, 'server: {}\nresources: 5\n');
  const bad = await cli(['serve', '--config', broken]);
  t.equal(bad.code, 1);
  t.match(bad.stderr, /^k8s-job-manager: invalid configuration \(3 problems\):\n/);
  t.match(bad.stderr, /broken\.yaml: resources: must be a mapping/);
  t.notMatch(bad.stderr, /\n\s+at /, 'no stack trace');
  const missing = await cli(['serve', '--config', path.join(dir, 'nope.yaml')]);
  t.equal(missing.code, 1);
  t.match(missing.stderr, /nope\.yaml: cannot be read \(ENOENT\)/);
});

t.test('certs writes a CA and a serving certificate for the service names', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'certs-'));
  const { code, stdout } = await cli(['certs', '--service', 'hook', '--namespace', 'ns', '--out', dir]);
  t.equal(code, 0);
  t.match(stdout, 'hook.ns.svc');
  const { X509Certificate } = await import('node:crypto');
  const { readFileSync, statSync } = await import('node:fs');
  const leaf = new X509Certificate(readFileSync(path.join(dir, 'tls.crt')));
  const ca = new X509Certificate(readFileSync(path.join(dir, 'ca.crt')));
  t.ok(leaf.verify(ca.publicKey), 'signed by the CA');
  t.match(leaf.subjectAltName ?? '', 'DNS:hook.ns.svc.cluster.local');
  t.equal(statSync(path.join(dir, 'tls.key')).mode & 0o777, 0o600, 'the key is private');
});

t.test('start chooses serve only when a cluster is configured', async (t) => {
  const home = mkdtempSync(path.join(os.tmpdir(), 'home-'));
  t.equal(configuredCluster({}, home), undefined);
  t.match(configuredCluster({ KUBECONFIG: '/x' }, home), 'KUBECONFIG=/x');
  t.match(configuredCluster({ KUBERNETES_SERVICE_HOST: '10.0.0.1' }, home), 'KUBERNETES_SERVICE_HOST');
});
