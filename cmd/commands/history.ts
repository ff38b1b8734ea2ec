/**
 * `history reindex`: builds the job history index (which `GET /jobs` lists
 * archived jobs from) for archives written before the index existed. Reads
 * the bucket settings from the same environment variables as `serve`.
 */
import { loadKubeAccess } from '../../lib/kube/kube-access.js';
import { resolveNamespace } from '../../lib/kube/namespace.js';
import { UsageError, type Command } from '../command.js';

export const historyCommand: Command = {
  name: 'history',
  summary: 'reindex: build the job history index of an archive written before it existed',
  usage: 'k8s-job-manager history reindex [--namespace NS]',
  options: {
    namespace: { type: 'string', description: 'namespace whose archive to index (default: PYGEOAPI_K8S_MANAGER_NAMESPACE, else the kubeconfig\'s)' },
  },
  async run(values, positionals) {
    if (positionals[0] !== 'reindex' || positionals.length > 1) throw new UsageError('history: the only action is "reindex"');
    // The S3 client (the AWS SDK) only when this verb runs: main.ts loads every verb's module, `serve --webhook` among them.
    const { createS3Client, missingBucketSettings } = await import('../../lib/s3/client.js');
    const { HistoryStore } = await import('../../lib/archive/history-store.js');
    const { reindexHistory } = await import('../../lib/archive/history-reindex.js');
    // Loaded here, not with the command line: `serve` must not keep the configuration code (see lib/config/load-in-worker.ts).
    const { readSettings } = await import('../../lib/config/environment.js');
    const settings = readSettings(process.env);
    const missing = missingBucketSettings(settings.bucket, settings.secrets);
    if (missing.length) throw new UsageError(`history reindex: the archive bucket is not configured (${missing.join(', ')} not set)`);
    let namespace = typeof values.namespace === 'string' ? values.namespace : settings.namespace;
    // Loaded as `serve` loads it: client-node's KubeConfig (every API class of the client) only for what kube-access.ts leaves to it.
    namespace ||= resolveNamespace(undefined, await loadKubeAccess());
    const s3 = createS3Client(settings.bucket, settings.secrets);
    try {
      const store = new HistoryStore({ s3, bucket: settings.bucket.name!, prefix: settings.bucket.pathPrefix, namespace });
      const started = Date.now();
      const report = await reindexHistory(store, (done) => process.stderr.write(`${done} records indexed\n`));
      for (const key of report.skipped) process.stderr.write(`skipped ${key}: unreadable, or no job id or creation time\n`);
      process.stdout.write(
        `namespace ${namespace}: ${report.indexed} of ${report.records} job records indexed in ${report.hours} hour segments (${((Date.now() - started) / 1000).toFixed(1)} s)\n`,
      );
      return report.skipped.length ? 1 : 0;
    } finally {
      s3.destroy();
    }
  },
};
