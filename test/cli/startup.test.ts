/**
 * Start-up that cannot leave a half-alive process, as a user meets it: a
 * second `local` on the same state folder names the process holding it,
 * exits 1 and leaves the first one's kubeconfig alone; a second `local` on
 * the first one's API port stops what it started and exits 1 with one line.
 */
import t from 'tap';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { waitFor } from '../helpers/wait-for.js';
import { runCli, type CliRun } from '../helpers/cli-process.js';


type Run = CliRun;

function local(args: string[]): Run {
  return runCli(t, 'local', args, { LOG_LEVEL: 'error' });
}

/** Resolves with the exit code, or fails the wait after `ms` (a process that does not exit is the bug). */
function exitWithin(run: Run, ms: number): Promise<number | null> {
  let timer: NodeJS.Timeout;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still running after ${ms} ms; output: ${run.output()}`)), ms);
  });
  return Promise.race([run.exited, late]).finally(() => clearTimeout(timer));
}

t.test('a second instance on a held state folder or a used port exits 1 with one line', async (t) => {
  const stateDir = mkdtempSync(path.join(os.tmpdir(), 'startup-e2e-'));
  const first = local(['--port', '0', '--state-dir', stateDir]);
  await waitFor(() => first.output().includes('is ready'), { what: `"is ready" from the first instance (output: ${first.output()})`, timeoutMs: 120_000 });
  const kubeconfig = path.join(stateDir, 'kubeconfig');
  const before = readFileSync(kubeconfig);
  const port = /API:\s+http:\/\/localhost:(\d+)/.exec(first.output())?.[1];
  t.ok(port, 'the first instance prints its API port');

  const sameDir = local(['--port', '0', '--state-dir', stateDir]);
  t.equal(await exitWithin(sameDir, 120_000), 1, 'same state folder: exit code 1');
  const lines = sameDir.stderr().trim().split('\n');
  t.equal(lines.length, 1, `one line on stderr: ${sameDir.stderr()}`);
  t.match(lines[0], `is in use by process ${first.pid}`, 'it names the process holding the folder');
  t.same(readFileSync(kubeconfig), before, 'the first instance\'s kubeconfig is untouched');

  const otherDir = mkdtempSync(path.join(os.tmpdir(), 'startup-e2e-'));
  const samePort = local(['--port', port!, '--state-dir', otherDir]);
  t.equal(await exitWithin(samePort, 120_000), 1, 'port in use: exit code 1, and the process does exit');
  const portLines = samePort.stderr().trim().split('\n');
  t.equal(portLines.length, 1, `one line on stderr: ${samePort.stderr()}`);
  t.match(portLines[0], `cannot listen on 127.0.0.1:${port}: address already in use`);
  t.notMatch(samePort.stderr(), /\n\s+at /, 'no stack');

  // The failed one released its state folder: a new instance may take it.
  const again = local(['--port', '0', '--state-dir', otherDir]);
  await waitFor(() => again.output().includes('is ready') || again.output().includes('in use'), { what: 'the third instance to start or refuse', timeoutMs: 120_000 });
  t.match(again.output(), 'is ready', 'the failed instance left no lock behind');
  again.kill('SIGTERM');
  t.equal(await exitWithin(again, 60_000), 0, 'the third instance stops cleanly');

  first.kill('SIGTERM');
  t.equal(await exitWithin(first, 60_000), 0, 'the first instance stops cleanly');
});
