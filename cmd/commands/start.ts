/** `start` (npm start): `serve` when a cluster is configured, `local` otherwise — and says which. */
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { packageRoot } from '../../lib/package-root.js';
import type { Command } from '../command.js';
import { localCommand } from './local.js';
import { serveCommand } from './serve.js';

/** Why a cluster counts as configured, or undefined when none is. */
export function configuredCluster(env: NodeJS.ProcessEnv, home = os.homedir()): string | undefined {
  if (env.KUBERNETES_SERVICE_HOST) return 'running in a pod (KUBERNETES_SERVICE_HOST)';
  if (env.KUBECONFIG) return `KUBECONFIG=${env.KUBECONFIG}`;
  const file = path.join(home, '.kube', 'config');
  return existsSync(file) ? file : undefined;
}

export const startCommand: Command = {
  name: 'start',
  summary: 'serve against the configured cluster, or run locally when there is none',
  usage: 'k8s-job-manager start [--port N]',
  options: { port: { type: 'string', description: 'API port' } },
  async run(values, positionals) {
    const cluster = configuredCluster(process.env);
    if (cluster) {
      process.stdout.write(`k8s-job-manager: a cluster is configured (${cluster}); running "serve"\n`);
      const config = process.env.PYGEOAPI_CONFIG ?? path.join(packageRoot(), 'pygeoapi-config.yaml');
      return serveCommand.run({ ...values, config }, positionals);
    }
    process.stdout.write('k8s-job-manager: no cluster configured; running "local" (the embedded stand-in)\n');
    return localCommand.run(values, positionals);
  },
};
