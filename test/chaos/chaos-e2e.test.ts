/**
 * A small seeded chaos run (`npm run chaos`) as part of the suite: 30 jobs,
 * 2 SIGKILLs of controller replicas, logs up to 256 KiB, S3 refusing and
 * cutting requests, the API server dropping, expiring and stalling watches
 * and failing requests. The run itself must work (every part started, the
 * faults and kills happened, a verdict came); the verdict must be PASS.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import path from 'node:path';
import { childEnv } from '../helpers/child-env.js';
import { ROOT } from './processes.js';

const SEED = '20261202';
/**
 * Generous: a few minutes on an idle 2-core machine, but its six Node processes (and every restart
 * of a killed replica) start slowly when the CPU is shared: at a load of 30, one start took ~55 s.
 */
const RUN_BOUND_MS = 600_000;

t.setTimeout(RUN_BOUND_MS + 30_000);

t.test(`chaos run: 30 jobs, 2 kills, seed ${SEED}`, async (t) => {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(ROOT, 'test/chaos/run.ts'), '--jobs', '30', '--kills', '2', '--seed', SEED, '--max-bytes', '256KiB', '--max-active', '10', '--settle-timeout', '120'],
    { cwd: ROOT, env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  createInterface(child.stderr).on('line', (line) => {
    stderr += `${line}\n`;
    // Progress as it happens, so a run that hits the bound shows how far it got.
    if (line.startsWith('chaos ')) t.comment(line);
  });
  // The bound of the whole run; SIGTERM lets it stop every process it started.
  const timer = setTimeout(() => child.kill('SIGTERM'), RUN_BOUND_MS);
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  clearTimeout(timer);
  const verdict = stdout.trim().split('\n').at(-1) ?? '';
  const context = { stderr: stderr.split('\n').filter((l) => l.startsWith('chaos')).slice(-30).join('\n') };
  t.ok(code === 0 || code === 1, `the run finished within ${RUN_BOUND_MS / 1000} s with a verdict (exit ${code})`, context);
  t.match(verdict, /^chaos: (PASS|FAIL) seed=20261202 jobs=30 /, 'one verdict line, all 30 jobs accepted', context);
  const number = (name: string): number => Number(new RegExp(` ${name}=(\\d+)`).exec(verdict)?.[1] ?? NaN);
  t.equal(number('kills'), 2, 'two controller replicas were killed with SIGKILL');
  t.ok(number('s3-faults') > 0, `S3 refused or cut requests (${number('s3-faults')})`);
  t.ok(number('api-faults') > 0, `the API server failed requests and watches (${number('api-faults')})`);
  t.ok(number('bytes') > 0, 'archived logs were checked');
  const findings = stderr.split('\n').filter((l) => l.startsWith('chaos: finding'));
  t.same(findings.filter((l) => l.includes('[generator]')), [], "the jobs printed what their specs say (the run's own check)");
  t.ok(verdict.startsWith('chaos: PASS'), `every archived log byte for byte as printed, records and results right${findings.length ? `:\n${findings.join('\n')}` : ''}`, { verdict });
});
