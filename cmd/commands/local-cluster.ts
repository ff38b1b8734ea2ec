/** `local-cluster`: the Kubernetes API stand-in on its own, for kubectl and experiments. */
import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { lockStateDir, type StateLock } from '../state-lock.js';
import { intFlag, untilSignal, type Command } from '../command.js';
import { loadDevOnly } from '../dev-only.js';

export const localClusterCommand: Command = {
  name: 'local-cluster',
  summary: 'run the embedded Kubernetes API stand-in and write a kubeconfig for it',
  usage: 'k8s-job-manager local-cluster [--port N] [--kubeconfig FILE] [--state-dir DIR] [--enforce-rbac]',
  options: {
    port: { type: 'string', description: 'port to listen on (0 picks a free one; default 0)' },
    kubeconfig: { type: 'string', description: 'where to write the kubeconfig (default ./local-cluster.kubeconfig)' },
    'state-dir': { type: 'string', description: 'keep objects, keys and pods\' logs in this folder across restarts (default: in memory only)' },
    'enforce-rbac': { type: 'boolean', description: 'refuse (403) what RBAC does not allow, as a real cluster does (default: allow everything)' },
  },
  async run(values) {
    const { startLocalCluster } = await loadDevOnly('local-cluster', () => import('../../local-cluster/index.js'));
    const stateDir = values['state-dir'] === undefined ? undefined : resolve(String(values['state-dir']));
    let lock: StateLock | undefined;
    if (stateDir) {
      await mkdir(stateDir, { recursive: true });
      lock = await lockStateDir(stateDir);
    }
    try {
      const cluster = await startLocalCluster({ port: intFlag(values, 'port', 0), enforceRbac: values['enforce-rbac'] === true, ...(stateDir ? { stateDir } : {}) });
      const file = resolve(String(values.kubeconfig ?? 'local-cluster.kubeconfig'));
      await cluster.writeKubeconfig(file);
      process.stdout.write(`local-cluster ready at ${cluster.url}${cluster.enforceRbac ? ' (RBAC enforced)' : ''}\nkubeconfig: ${file}\ntry: kubectl --kubeconfig ${file} get namespaces\n`);
      await untilSignal();
      await cluster.stop();
    } finally {
      await lock?.release();
    }
    return 0;
  },
};
