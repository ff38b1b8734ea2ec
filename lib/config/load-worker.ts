/**
 * The worker side of `loadConfigFileInWorker`: loads and checks the
 * configuration file named in workerData and posts the outcome back.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { ConfigError } from './errors.js';
import { loadConfigFile } from './load.js';
import type { WorkerInput, WorkerOutcome } from './load-in-worker.js';

const { path, env } = workerData as WorkerInput;
let outcome: WorkerOutcome;
try {
  outcome = { kind: 'loaded', ...loadConfigFile(path, env) };
} catch (error) {
  outcome =
    error instanceof ConfigError
      ? { kind: 'invalid', problems: error.problems, warnings: error.warnings }
      : { kind: 'failed', message: error instanceof Error ? (error.stack ?? error.message) : String(error) };
}
parentPort!.postMessage(outcome);
