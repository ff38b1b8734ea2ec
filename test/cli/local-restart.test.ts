/**
 * `local` restarted on its state folder finds its jobs again, as a real
 * deployment does after the API server, the controller or a node restarts: a
 * job that was running when it stopped is still there (not 404) and is
 * reported failed, because its pod's process died with the restart.
 */
import t from 'tap';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { waitFor } from '../helpers/wait-for.js';
import { runCli, type CliRun } from '../helpers/cli-process.js';


type Run = CliRun;

function local(args: string[]): Run {
  return runCli(t, 'local', args, { LOG_LEVEL: 'error' });
}

async function ready(run: Run): Promise<string> {
  await waitFor(() => run.output().includes('is ready'), { what: `"is ready" (output: ${run.output()})`, timeoutMs: 120_000 });
  const url = /API:\s+(http:\/\/localhost:\d+)/.exec(run.output())?.[1];
  if (!url) throw new Error(`no API address in ${run.output()}`);
  return url;
}

const jobStatus = async (api: string, id: string): Promise<{ httpStatus: number; status?: string; message?: string }> => {
  const response = await fetch(`${api}/jobs/${id}`, { headers: { accept: 'application/json' } });
  const body = (await response.json()) as { status?: string; message?: string };
  return { httpStatus: response.status, ...body };
};

t.test('a job running when local stopped is found after the restart, failed', async (t) => {
  const stateDir = mkdtempSync(path.join(os.tmpdir(), 'local-restart-'));
  const first = local(['--port', '0', '--state-dir', stateDir]);
  let api = await ready(first);
  const created = await fetch(`${api}/processes/echo/execution`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', prefer: 'respond-async' },
    body: JSON.stringify({ inputs: { stringInput: 'interrupted', pause: 600 } }),
  });
  t.equal(created.status, 201, 'accepted');
  const id = /\/jobs\/([^/?]+)$/.exec(created.headers.get('location') ?? '')?.[1];
  t.ok(id, `a job id in ${created.headers.get('location')}`);
  await waitFor(async () => (await jobStatus(api, id!)).status === 'running', { what: 'the job to run', timeoutMs: 60_000 });
  first.kill('SIGTERM');
  t.equal(await first.exited, 0, 'the first run stops cleanly');

  const second = local(['--port', '0', '--state-dir', stateDir]);
  api = await ready(second);
  const found = await jobStatus(api, id!);
  t.equal(found.httpStatus, 200, `the job is still known after the restart: ${JSON.stringify(found)}`);
  const failed = await waitFor(async () => {
    const s = await jobStatus(api, id!);
    return s.status === 'failed' ? s : undefined;
  }, { what: 'the interrupted job to be reported failed', timeoutMs: 60_000 });
  t.equal(failed.httpStatus, 200);
  second.kill('SIGTERM');
  t.equal(await second.exited, 0, 'the second run stops cleanly');
});
