/**
 * test/e2e-kind/run.sh cannot run here (no Docker engine, no kind); what can
 * be checked without them is checked: the script parses, the objects it
 * applies are valid, and the names it relies on are those of the manifests
 * and the contract.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import { ANNOTATIONS, LOG_FINALIZER, MANAGED_LABEL } from '../../lib/contract.js';
import { OVERLAYS, REPO_ROOT, namespacesOf, parseObjects, render } from './helpers/manifests.js';
import { schemaProblems } from './helpers/schema.js';

const SCRIPT = path.join(REPO_ROOT, 'test/e2e-kind/run.sh');

function bash(args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile('bash', args, { timeout: 30_000 }, (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }));
    child.stdin?.end(input);
  });
}

const script = await readFile(SCRIPT, 'utf8');
const variable = (name: string): string => {
  const match = new RegExp(`^${name}=(\\S+)$`, 'm').exec(script);
  if (!match) throw new Error(`run.sh sets no ${name}`);
  return match[1]!;
};

t.test('run.sh parses', async (t) => {
  const result = await bash(['-n', SCRIPT]);
  t.equal(result.code, 0, `bash -n ${result.stderr}`);
});

t.test('the objects run.sh applies are valid and carry the contract\'s names', async (t) => {
  const heredocs = [...script.matchAll(/k apply -f - <<EOF\n([\s\S]*?)\nEOF\n/g)].map((m) => m[1]!);
  t.equal(heredocs.length, 2, 'the S3 server and the labelled Job');
  // Expanded by bash as the script does, with its own variable values.
  const assignments = ['IMAGE', 'S3_NS', 'BUCKET', 'JOBS_NS'].map((name) => `${name}=${variable(name)}`).join('\n');
  const objects = [];
  for (const body of heredocs) {
    const expanded = await bash(['-s'], `${assignments}\ncat <<EOF\n${body}\nEOF\n`);
    t.equal(expanded.code, 0, `heredoc expands ${expanded.stderr}`);
    objects.push(...parseObjects(expanded.stdout));
  }
  for (const o of objects) t.same(schemaProblems(o), [], `${o.kind} ${o.metadata.name} is valid`);
  const job = objects.find((o) => o.kind === 'Job')!;
  t.equal(job.metadata.labels?.[MANAGED_LABEL], 'true', 'the Job carries the managed label');
  t.ok(job.metadata.annotations?.[ANNOTATIONS.inputs], 'and passes inputs in the inputs annotation');
  t.match(JSON.stringify(job), /\$PYGEOAPI_K8S_MANAGER_INPUTS/, 'the container reads the inputs variable (not expanded by the script\'s shell)');
});

t.test('run.sh uses the names of the plain overlay and the contract', async (t) => {
  const { objects } = await render(OVERLAYS.plain);
  const ns = namespacesOf(objects);
  t.equal(variable('SYSTEM_NS'), ns.system, 'the manager\'s namespace');
  t.equal(variable('JOBS_NS'), ns.jobs, 'the jobs namespace');
  t.equal(variable('FINALIZER'), LOG_FINALIZER, 'the log finalizer');
  t.match(script, /- \.\.\/\.\.\/\.\.\/k8s-manifests\/overlays\/plain\n/, 'its kustomization (in test/e2e-kind/.work) builds on overlays/plain');
  for (const name of ['k8s-job-manager', 'k8s-job-manager-bucket']) t.match(script, new RegExp(`create secret generic ${name} `), `creates the Secret ${name}`);
});
