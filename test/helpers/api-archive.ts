/**
 * An S3 archive for the API tests: s3rver in a temporary folder, the
 * environment that points the manager at it, and writers that put objects
 * where lib/archive/layout.ts says the controller puts them.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { containerLogKey, jobRecordKey, type JobRecord } from '../../lib/archive/layout.js';
import { EMBEDDED_S3_CREDENTIALS, startEmbeddedS3 } from '../../cmd/local/embedded-s3.js';
import type { Teardown } from './local-cluster.js';
import { recordInHistory } from '../../lib/archive/history-writer.js';

export interface TestArchive {
  /** Environment variables that switch the manager's archive on. */
  env: Record<string, string>;
  bucket: string;
  client: S3Client;
  /**
   * Writes a job record and the logs it lists, and adds the job to the
   * history index as the controller does (`legacy`: not, as archives written
   * before the index existed); returns the record.
   */
  putJob(
    namespace: string,
    jobName: string,
    record: Omit<JobRecord, 'logs'>,
    logs: Array<{ pod: string; container: string; text: string }>,
    options?: { legacy?: boolean },
  ): Promise<JobRecord>;
  put(key: string, body: string): Promise<unknown>;
}

export async function startTestArchive(t: Teardown, bucket = 'job-archive'): Promise<TestArchive> {
  const directory = await mkdtemp(path.join(tmpdir(), 'api-archive-'));
  const s3 = await startEmbeddedS3({ directory, bucket });
  t.teardown(async () => {
    await s3.stop();
    await rm(directory, { recursive: true, force: true });
  });
  const client = new S3Client({ endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: EMBEDDED_S3_CREDENTIALS });
  t.teardown(() => client.destroy());
  const put = (key: string, body: string) => client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
  return {
    env: {
      PYGEOAPI_K8S_MANAGER_FINALIZER_BUCKET_ENDPOINT: s3.endpoint,
      PYGEOAPI_K8S_MANAGER_FINALIZER_BUCKET_KEY: EMBEDDED_S3_CREDENTIALS.accessKeyId,
      PYGEOAPI_K8S_MANAGER_FINALIZER_BUCKET_SECRET: EMBEDDED_S3_CREDENTIALS.secretAccessKey,
      PYGEOAPI_K8S_MANAGER_FINALIZER_BUCKET_NAME: bucket,
    },
    bucket,
    client,
    put,
    putJob: async (namespace, jobName, record, logs, options = {}) => {
      const entries: JobRecord['logs'] = [];
      for (const log of logs) {
        const key = containerLogKey('', namespace, jobName, log.pod, log.container);
        await put(key, log.text);
        entries.push({ pod: log.pod, container: log.container, key, bytes: Buffer.byteLength(log.text) });
      }
      const full: JobRecord = { ...record, logs: entries };
      await put(jobRecordKey('', namespace, jobName), JSON.stringify(full));
      if (!options.legacy) await recordInHistory({ putJson: async (key, value) => void (await put(key, JSON.stringify(value))) }, '', namespace, full, AbortSignal.timeout(10_000));
      return full;
    },
  };
}
