/**
 * End to end against local-cluster and s3rver: what jobs print ends up in S3
 * byte for byte, with the job record, the result on the Job, the pod marked
 * and its finalizer released, including pods killed while running.
 */
import t from 'tap';
import type { V1Job, V1Pod } from '@kubernetes/client-node';
import type { JobRecord } from '../../lib/archive/layout.js';
import { startTestCluster } from '../helpers/local-cluster.js';
import { waitFor } from '../helpers/wait-for.js';
import { FINALIZER, jobsPath, podsOfJob, podsPath, shellJob, testApi } from './helpers/kube.js';
import { startTestS3 } from './helpers/s3.js';
import { bucketEnv, PREFIX, startTestController } from './helpers/controller.js';

const NS = 'archive';
const M = 'PYGEOAPI_K8S_MANAGER_RESULT_MIMETYPE:';
const S = 'PYGEOAPI_K8S_MANAGER_RESULT_START';

t.test('archiving', async (t) => {
  // The kubelet removes a deleted pod's logs at once: only logs captured while the pod ran can be archived.
  const cluster = await startTestCluster(t, { namespaces: [NS, 'python-layout'], containerRemovalDelayMs: 0 });
  const api = testApi(cluster);
  t.teardown(() => api.close());
  const s3 = await startTestS3(t);
  const controller = await startTestController(t, {
    kubeConfig: cluster.kubeConfig(),
    namespaces: [NS],
    env: bucketEnv(s3.endpoint),
    tuning: { resultAnnotationLimitBytes: 1024 },
  });
  await waitFor(() => controller.isLeader(), { what: 'the controller to lead' });

  const record = async (job: string): Promise<JobRecord | undefined> => {
    const body = await s3.get(`${PREFIX}${NS}/${job}/job.json`);
    return body ? (JSON.parse(body.toString('utf8')) as JobRecord) : undefined;
  };
  const archivedPod = async (job: string): Promise<V1Pod> =>
    waitFor(
      async () => {
        const [pod] = await podsOfJob(api, NS, job);
        return pod?.metadata?.annotations?.['pygeoapi.io/log-archive'] && !pod.metadata.finalizers?.includes(FINALIZER) ? pod : undefined;
      },
      { what: `the pod of ${job} to be archived and released`, timeoutMs: 15_000 },
    );

  t.test('init and main containers archived byte-identical, result written', async (t) => {
    const initOut = 'init line 1\n\ninit line 3 ünïcödé\n';
    const mainOut = `hello\n${M}application/json\n${S}\n{"answer": 42}`;
    await api.create(
      jobsPath(NS),
      shellJob('bytes', {
        init: [{ name: 'prepare', script: `printf '%s' '${initOut}'` }],
        containers: [{ name: 'main', script: `printf '%s' '${mainOut}'` }],
        annotations: { 'pygeoapi.io/identifier': 'id-bytes', 'pygeoapi.io/process_id': 'echo', 'pygeoapi.io/parameters': '{"x": 1}' },
      }),
    );
    const pod = await archivedPod('bytes');
    const podName = pod.metadata!.name!;
    const base = `${PREFIX}${NS}/bytes/${podName}`;
    t.equal((await s3.get(`${base}/prepare.log`))?.toString('utf8'), initOut, 'init container log is byte-identical');
    t.equal((await s3.get(`${base}/main.log`))?.toString('utf8'), mainOut, 'main container log is byte-identical (no trailing newline kept as is)');
    t.equal(pod.metadata?.annotations?.['pygeoapi.io/log-archive'], `${PREFIX}${NS}/bytes/${podName}/`);

    const rec = (await record('bytes'))!;
    t.equal(rec.status.status, 'successful');
    t.equal(rec.status.jobID, 'id-bytes');
    t.equal(rec.status.processID, 'echo');
    t.equal(rec.processId, 'echo');
    t.same(rec.parameters, { x: 1 });
    t.same(rec.result, { mimetype: 'application/json', value: '{"answer": 42}' });
    t.same(
      rec.logs,
      [
        { pod: podName, container: 'prepare', key: `${base}/prepare.log`, bytes: Buffer.byteLength(initOut) },
        { pod: podName, container: 'main', key: `${base}/main.log`, bytes: Buffer.byteLength(mainOut) },
      ],
      'the record lists the logs with their sizes',
    );
    const job = await api.get<V1Job>(`${jobsPath(NS)}/bytes`);
    t.equal(job.metadata?.annotations?.['pygeoapi.io/result-mimetype'], 'application/json');
    t.equal(job.metadata?.annotations?.['pygeoapi.io/result-value'], '{"answer": 42}');
    const events = await api.get<{ items: Array<{ reason: string; involvedObject: { name: string } }> }>(`/api/v1/namespaces/${NS}/events`);
    t.ok(events.items.some((e) => e.reason === 'LogsArchived' && e.involvedObject.name === podName), 'an Event says the logs were archived');
    t.ok((await controller.metric('k8s_job_manager_controller_log_archives_total', { result: 'done' })) >= 1, 'archives metric counts it');
    t.ok((await controller.metric('k8s_job_manager_controller_archived_bytes_total')) >= Buffer.byteLength(initOut + mainOut));
  });

  t.test('a pod without the finalizer gets it, and a big result goes to S3', async (t) => {
    const big = 'x'.repeat(5000);
    await api.create(
      jobsPath(NS),
      shellJob('big-result', { finalizer: false, containers: [{ name: 'main', script: `sleep 0.5; printf '${M}text/plain\\n${S}\\n${big}\\n'` }] }),
    );
    // The controller adds the finalizer while the pod runs (the webhook would have).
    await waitFor(async () => (await podsOfJob(api, NS, 'big-result'))[0]?.metadata?.finalizers?.includes(FINALIZER), { what: 'the finalizer to be added' });
    await archivedPod('big-result');
    const rec = (await record('big-result'))!;
    const valueKey = `${PREFIX}${NS}/big-result/result`;
    t.same(rec.result, { mimetype: 'text/plain', valueKey });
    t.equal((await s3.get(valueKey))?.toString('utf8'), big, 'the value (without its trailing newline) is in S3');
    const job = await api.get<V1Job>(`${jobsPath(NS)}/big-result`);
    t.equal(job.metadata?.annotations?.['pygeoapi.io/result-location'], valueKey);
    t.equal(job.metadata?.annotations?.['pygeoapi.io/result-value'], undefined);
  });

  t.test('a failed job is archived with its status and without a result', async (t) => {
    await api.create(jobsPath(NS), shellJob('fails', { containers: [{ name: 'main', script: `echo "${S}"; echo oops; exit 3` }] }));
    const pod = await archivedPod('fails');
    const rec = await waitFor(async () => ((await record('fails'))?.status.status === 'failed' ? record('fails') : undefined), {
      what: 'the failed status in the record',
    });
    t.equal(rec!.result, undefined, 'a failed pod hands back no result');
    t.equal((await s3.get(`${PREFIX}${NS}/fails/${pod.metadata!.name}/main.log`))?.toString(), `${S}\noops\n`);
  });

  t.test('a dismissed running job is archived before its logs vanish', async (t) => {
    await api.create(
      jobsPath(NS),
      shellJob('dismissed', { containers: [{ name: 'main', script: 'echo started; i=0; while true; do echo "tick $i"; i=$((i+1)); sleep 0.02; done' }] }),
    );
    const running = await waitFor(async () => (await podsOfJob(api, NS, 'dismissed')).find((p) => p.status?.phase === 'Running'), { what: 'the job to run' });
    await waitFor(async () => (await api.text(`${podsPath(NS)}/${running.metadata!.name}/log`)).includes('tick 10'), { what: 'a few ticks' });
    await api.remove(`${jobsPath(NS)}/dismissed`, { propagationPolicy: 'Background' });
    const key = `${PREFIX}${NS}/dismissed/${running.metadata!.name}/main.log`;
    // The pod goes once its finalizer is released, which happens only after the upload was verified.
    await waitFor(async () => (await podsOfJob(api, NS, 'dismissed')).length === 0, { what: 'the archived pod to go', timeoutMs: 15_000 });
    const log = (await s3.get(key))!;
    const lines = log.toString('utf8').split('\n');
    t.equal(lines[0], 'started');
    t.equal(lines.pop(), '', 'ends with a complete line');
    const ticks = lines.slice(1);
    t.ok(ticks.length >= 5, `ticks were captured (${ticks.length})`);
    t.same(ticks, ticks.map((_, i) => `tick ${i}`), 'every tick, in order, none twice');
    await waitFor(async () => (await podsOfJob(api, NS, 'dismissed')).length === 0, { what: 'the pod to go once released', timeoutMs: 10_000 });
    const rec = (await record('dismissed'))!;
    t.equal(rec.status.status, 'dismissed');
  });

  t.test('activeDeadlineSeconds: the killed job is archived, status failed', async (t) => {
    await api.create(
      jobsPath(NS),
      shellJob('deadline', { activeDeadlineSeconds: 1, containers: [{ name: 'main', script: 'i=0; while true; do echo "line $i"; i=$((i+1)); sleep 0.02; done' }] }),
    );
    const rec = await waitFor(async () => ((await record('deadline'))?.status.status === 'failed' ? record('deadline') : undefined), {
      what: 'the deadline-killed job to be archived',
      timeoutMs: 15_000,
    });
    t.match(rec!.status.message, /DeadlineExceeded/);
    const log = (await s3.get(rec!.logs[0]!.key))!.toString('utf8');
    const lines = log.split('\n');
    t.equal(lines.pop(), '');
    t.ok(lines.length > 3, `logs up to the kill (${lines.length} lines)`);
    t.same(lines, lines.map((_, i) => `line ${i}`));
    await waitFor(async () => (await podsOfJob(api, NS, 'deadline')).length === 0, { what: 'the pod to go', timeoutMs: 10_000 });
  });

  t.test('TTL deletion: the finalizer is released and the pod disappears', async (t) => {
    await api.create(jobsPath(NS), shellJob('ttl', { ttlSecondsAfterFinished: 0, containers: [{ name: 'main', script: 'sleep 0.3; echo short-lived' }] }));
    await waitFor(async () => (await record('ttl')) !== undefined, { what: 'the record', timeoutMs: 10_000 });
    await waitFor(async () => (await podsOfJob(api, NS, 'ttl')).length === 0, { what: 'the pod to disappear', timeoutMs: 10_000 });
    await waitFor(async () => !(await api.get<{ items: unknown[] }>(jobsPath(NS))).items.some((j) => (j as V1Job).metadata?.name === 'ttl'), {
      what: 'the Job to be deleted by its TTL',
    });
    const rec = (await record('ttl'))!;
    t.equal(rec.status.status, 'successful');
    t.equal((await s3.get(rec.logs[0]!.key))?.toString(), 'short-lived\n');
  });

  t.test(
    'a line longer than the runtime splits it into (16 KiB) is archived whole',
    async (t) => {
      await api.create(jobsPath(NS), shellJob('long-line', { containers: [{ name: 'main', script: "sleep 0.3; head -c 100000 /dev/zero | tr '\\0' a; echo" }] }));
      const pod = await archivedPod('long-line');
      t.equal((await s3.get(`${PREFIX}${NS}/long-line/${pod.metadata!.name}/main.log`))?.toString(), `${'a'.repeat(100_000)}\n`);
    },
  );

  t.test("the Python manager's single-file layout, as a setting", async (t) => {
    const ns = 'python-layout';
    const python = await startTestController(t, {
      kubeConfig: cluster.kubeConfig(),
      namespaces: [ns],
      env: { ...bucketEnv(s3.endpoint), PYGEOAPI_K8S_MANAGER_LOG_ARCHIVE_LAYOUT: 'python' },
      identity: 'python-layout',
    });
    await waitFor(() => python.isLeader(), { what: 'the second controller to lead' });
    await api.create(
      jobsPath(ns),
      shellJob('pygeoapi-job-1234', {
        init: [{ name: 'prep', script: 'sleep 0.3; echo prepared' }],
        containers: [{ name: 'main', script: `echo working; echo '${M}application/json'; echo '${S}'; echo '{"r": 1}'` }],
      }),
    );
    const pod = await waitFor(
      async () => {
        const [p] = await podsOfJob(api, ns, 'pygeoapi-job-1234');
        return p?.metadata?.annotations?.['pygeoapi.io/log-archive'] && !p.metadata.finalizers?.includes(FINALIZER) ? p : undefined;
      },
      { what: 'the pod to be archived', timeoutMs: 15_000 },
    );
    const date = new Date(pod.metadata!.creationTimestamp!).toISOString().slice(0, 10);
    const key = `${PREFIX}${date}_pygeoapi-job-1234-logs.txt`;
    t.equal(pod.metadata?.annotations?.['pygeoapi.io/log-archive'], key);
    t.equal(
      (await s3.get(key))?.toString('utf8'),
      `Logs of pod '${pod.metadata!.name}'\nInit Container 'prep'\nprepared\n\nContainer 'main'\nworking\n${M}application/json\n${S}\n{"r": 1}\n`,
    );
    const body = (await s3.get(`${PREFIX}${ns}/pygeoapi-job-1234/job.json`))!;
    const rec = JSON.parse(body.toString('utf8')) as JobRecord;
    t.same(rec.logs, [{ pod: pod.metadata!.name, container: '*', key, bytes: (await s3.get(key))!.length }]);
    t.same(rec.result, { mimetype: 'application/json', value: '{"r": 1}' });
  });
});
