/**
 * Loading the configuration in a worker thread, for the long-running
 * `serve` process. Checking a configuration needs the YAML parser, a JSON
 * Schema compiler (ajv) and the Kubernetes object schemas of
 * kubernetes-models: about 20 MB of code and compiled validators that a
 * process would keep for its whole life to use once, at start. In a worker
 * they go when it ends; the process receives the checked configuration
 * (plain data) and only the modules its parts run.
 */
import { Worker } from 'node:worker_threads';
import { ConfigError } from './errors.js';
import type { Env } from './environment.js';
import type { ManagerConfig } from './types.js';

/** What the worker posts back. */
export type WorkerOutcome =
  | { kind: 'loaded'; config: ManagerConfig; warnings: string[] }
  | { kind: 'invalid'; problems: string[]; warnings: string[] }
  | { kind: 'failed'; message: string };

/** What load-worker reads from workerData. */
export interface WorkerInput {
  path: string;
  env: Env;
}

/** Starts load-worker with `input` as its workerData. */
export type StartWorker = (input: WorkerInput) => Worker;

/**
 * The built worker script. Run from source (a TypeScript loader such as
 * tsx), there is none: Node 20 does not give a worker its parent's loader,
 * and a source run is not where memory counts, so the file is loaded in the
 * process (tests start the TypeScript worker with a loader of their own).
 */
function builtWorker(): StartWorker | undefined {
  if (import.meta.url.endsWith('.ts')) return undefined;
  return (input) => new Worker(new URL('./load-worker.js', import.meta.url), { workerData: input });
}

/** `loadConfigFile`, run in a worker thread: the same result, the same ConfigError. */
export async function loadConfigFileInWorker(
  path: string,
  env: Env = process.env,
  startWorker: StartWorker | undefined = builtWorker(),
): Promise<{ config: ManagerConfig; warnings: string[] }> {
  if (startWorker === undefined) return (await import('./load.js')).loadConfigFile(path, env);
  const worker = startWorker({ path, env: { ...env } });
  const outcome = await new Promise<WorkerOutcome>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`the configuration worker exited with code ${code} before answering`)));
  });
  await worker.terminate();
  if (outcome.kind === 'invalid') throw new ConfigError(outcome.problems, outcome.warnings);
  if (outcome.kind === 'failed') throw new Error(`loading the configuration failed: ${outcome.message}`);
  return { config: outcome.config, warnings: outcome.warnings };
}
