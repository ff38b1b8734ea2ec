/**
 * Loading the configuration in a worker thread (what `serve` does): the same
 * configuration and warnings as loading it in the process, the same
 * ConfigError for a broken file, and the environment given, not the process's.
 */
import t from 'tap';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError } from '../../lib/config/errors.js';
import { loadConfigFile } from '../../lib/config/load.js';
import { Worker } from 'node:worker_threads';
import { loadConfigFileInWorker, type StartWorker } from '../../lib/config/load-in-worker.js';

const example = path.resolve(import.meta.dirname, '..', '..', 'pygeoapi-config.yaml');
const workerScript = new URL('../../lib/config/load-worker.ts', import.meta.url).href;
/** The TypeScript worker, with tsx registered in it (Node 20 gives a worker no loader of its parent's; the build needs none). */
const startWorker: StartWorker = (input) =>
  new Worker(`import('tsx/esm/api').then((tsx) => tsx.tsImport(${JSON.stringify(workerScript)}, ${JSON.stringify(import.meta.url)}))`, { eval: true, workerData: input });

t.test('a worker loads what the process would', async (t) => {
  const env = { PYGEOAPI_K8S_MANAGER_API_TOKEN: 'token', PYGEOAPI_K8S_MANAGER_NAMESPACE: 'from-the-given-env' };
  const inWorker = await loadConfigFileInWorker(example, env, startWorker);
  t.same(inWorker, loadConfigFile(example, env));
  t.equal(inWorker.config.settings.namespace, 'from-the-given-env', 'the environment passed is the one read');
  t.ok(inWorker.config.processes.length > 0, 'the processes came across');
});

t.test('a broken file is the same ConfigError, warnings included', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'config-worker-'));
  const broken = path.join(dir, 'broken.yaml');
  writeFileSync(broken, 'server: {}\nresources: 5\n');
  const error = await loadConfigFileInWorker(broken, {}, startWorker).then(
    () => undefined,
    (e: unknown) => e,
  );
  t.ok(error instanceof ConfigError, 'a ConfigError');
  let direct: unknown;
  try {
    loadConfigFile(broken, {});
  } catch (e) {
    direct = e;
  }
  t.same((error as ConfigError).problems, (direct as ConfigError).problems);
  t.same((error as ConfigError).warnings, (direct as ConfigError).warnings);
  const missing = await loadConfigFileInWorker(path.join(dir, 'nope.yaml'), {}, startWorker).catch((e: unknown) => e);
  t.match((missing as ConfigError).problems, [/nope\.yaml: cannot be read \(ENOENT\)/]);
});

t.test('a worker that dies before answering is an error, not a hang', async (t) => {
  const dying: StartWorker = (input) => new Worker('process.exit(3)', { eval: true, workerData: input });
  await t.rejects(loadConfigFileInWorker(example, {}, dying), /the configuration worker exited with code 3 before answering/);
});

t.test('run from source without a worker, the file is loaded in the process', async (t) => {
  t.same(await loadConfigFileInWorker(example, { PYGEOAPI_K8S_MANAGER_API_TOKEN: 'token' }), loadConfigFile(example, { PYGEOAPI_K8S_MANAGER_API_TOKEN: 'token' }));
});
