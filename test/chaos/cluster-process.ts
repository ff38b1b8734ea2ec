/**
 * local-cluster as a process of its own for the chaos run, steered over the
 * IPC channel of `fork()`: its fault injection (watch drops, 410 Gone, stalled
 * watches, bursts of 5xx), Service addresses for the webhook, and counters.
 * Arguments: <kubeconfig file> <container removal delay ms>.
 * SIGTERM stops the cluster (and with it every job process).
 */
import { startLocalCluster } from '../../local-cluster/index.js';

export type ClusterCommand =
  | { op: 'drop-watches' }
  | { op: 'expire' }
  | { op: 'stall'; stalled: boolean }
  | { op: 'errors'; share: number; count: number; status: 503 | 500 | 429; match?: string }
  | { op: 'expose'; namespace: string; name: string; port: number; target: { host: string; port: number } }
  | { op: 'stats'; id: number };

export type ClusterMessage =
  | { type: 'ready'; url: string }
  | { type: 'stats'; id: number; injectedErrors: number; droppedWatches: number; openWatches: number }
  | { type: 'done'; op: string };

const [kubeconfig, removalDelay] = process.argv.slice(2);
if (!kubeconfig || !process.send) {
  process.stderr.write('usage: fork(cluster-process.ts, [kubeconfig, removalDelayMs]) with an IPC channel\n');
  process.exit(2);
}
const send = (message: ClusterMessage): void => {
  process.send?.(message);
};

const cluster = await startLocalCluster({
  namespaces: ['k8s-job-manager'],
  containerRemovalDelayMs: Number(removalDelay ?? 60_000),
  restartBackoffBaseMs: 200,
  jobBackoffBaseMs: 200,
  bookmarkIntervalMs: 5_000,
});
await cluster.writeKubeconfig(kubeconfig);

process.on('message', (command: ClusterCommand) => {
  switch (command.op) {
    case 'drop-watches':
      cluster.faults.dropWatches();
      break;
    case 'expire':
      cluster.faults.expireResourceVersions();
      break;
    case 'stall':
      cluster.faults.stallWatches(command.stalled);
      break;
    case 'errors':
      cluster.faults.injectErrors({
        share: command.share,
        status: command.status,
        count: command.count,
        ...(command.match ? { match: new RegExp(command.match) } : {}),
      });
      break;
    case 'expose':
      cluster.exposeService(command.namespace, command.name, command.port, command.target);
      break;
    case 'stats':
      send({ type: 'stats', id: command.id, ...cluster.faults.stats, openWatches: cluster.faults.openWatches });
      return;
  }
  send({ type: 'done', op: command.op });
});

let stopping = false;
const stop = (): void => {
  if (stopping) return;
  stopping = true;
  void cluster.stop().finally(() => process.exit(0));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
process.once('disconnect', stop);
send({ type: 'ready', url: cluster.url });
