/** `local`: the embedded default — everything on this machine, no cluster needed. */
import path from 'node:path';
import { createLogger } from '../../lib/logging.js';
import { packageRoot } from '../../lib/package-root.js';
import { intFlag, untilSignal, type Command } from '../command.js';
import { loadDevOnly } from '../dev-only.js';

export const DEFAULT_LOCAL_PORT = 5000;

export const localCommand: Command = {
  name: 'local',
  summary: 'run everything locally: stand-in cluster, embedded S3, webhook, controller and API',
  usage: 'k8s-job-manager local [--port N] [--state-dir DIR] [--config FILE]',
  options: {
    port: { type: 'string', description: `API port (default ${DEFAULT_LOCAL_PORT}; 0 picks a free one)` },
    'state-dir': { type: 'string', description: 'folder for the kubeconfig, the embedded S3 data, certificates and the cluster\'s state (kept across restarts; default .local/)' },
    config: { type: 'string', description: 'pygeoapi configuration (default $PYGEOAPI_CONFIG, else the shipped pygeoapi-config.yaml)' },
  },
  async run(values) {
    const logger = createLogger('k8s-job-manager', process.env.LOG_LEVEL ?? 'warn');
    const stateDir = path.resolve(String(values['state-dir'] ?? '.local'));
    const configFile = String(values.config ?? process.env.PYGEOAPI_CONFIG ?? path.join(packageRoot(), 'pygeoapi-config.yaml'));
    const { runLocal } = await loadDevOnly('local', () => import('../local/run-local.js'));
    const local = await runLocal({ configFile, stateDir, apiPort: intFlag(values, 'port', DEFAULT_LOCAL_PORT), logger });
    process.stdout.write(
      [
        `k8s-job-manager local is ready`,
        `  API:            ${local.apiUrl}   (try ${local.apiUrl}/processes)`,
        `  kubeconfig:     ${local.kubeconfig}   (kubectl --kubeconfig ${local.kubeconfig} get jobs)`,
        `  archived logs:  ${local.archiveDir}`,
        `  Ctrl-C stops everything.`,
        '',
      ].join('\n'),
    );
    await untilSignal();
    await local.stop();
    return 0;
  },
};
