/**
 * `local-cluster --state-dir`: the folder is locked (a second instance names
 * the holder and exits 1), and a restart on it keeps the cluster's
 * credentials and objects: the administrator's kubeconfig token still works.
 */
import t from 'tap';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { waitFor } from '../helpers/wait-for.js';
import { runCli, type CliRun } from '../helpers/cli-process.js';


function localCluster(args: string[]): CliRun {
  return runCli(t, 'local-cluster', args);
}

const token = (file: string): string | undefined => /token: (\S+)/.exec(readFileSync(file, 'utf8'))?.[1];

t.test('a locked state folder that keeps the credentials', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'local-cluster-state-cli-'));
  const stateDir = path.join(dir, 'state');
  const kubeconfig = path.join(dir, 'kubeconfig');
  const first = localCluster(['--port', '0', '--state-dir', stateDir, '--kubeconfig', kubeconfig]);
  await waitFor(() => first.output().includes('local-cluster ready'), { what: `the first instance (output: ${first.output()})`, timeoutMs: 60_000 });
  const firstToken = token(kubeconfig);
  t.ok(firstToken, 'a kubeconfig with a token');

  const second = localCluster(['--port', '0', '--state-dir', stateDir, '--kubeconfig', path.join(dir, 'other')]);
  t.equal(await second.exited, 1, 'a second instance on the folder exits 1');
  t.match(second.output(), `state folder ${stateDir} is in use by process`);

  first.kill('SIGTERM');
  t.equal(await first.exited, 0);
  const again = localCluster(['--port', '0', '--state-dir', stateDir, '--kubeconfig', kubeconfig]);
  await waitFor(() => again.output().includes('local-cluster ready'), { what: `the restarted instance (output: ${again.output()})`, timeoutMs: 60_000 });
  t.equal(token(kubeconfig), firstToken, 'the administrator token survived the restart');
  again.kill('SIGTERM');
  t.equal(await again.exited, 0);
});
