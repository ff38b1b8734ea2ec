/**
 * Several controller replicas, crashes and big logs: one leader at a time
 * and failover; a controller killed (-9) in the middle of an upload and
 * started again still archives the whole log once; a leader killed after a
 * job's pod was deleted and its containers removed: the standby replica has
 * the log; a 50 MB log is archived in bounded memory.
 */
import t from 'tap';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { V1Pod } from '@kubernetes/client-node';
import { startTestCluster } from '../helpers/local-cluster.js';
import { waitFor } from '../helpers/wait-for.js';
import { FINALIZER, jobsPath, podsOfJob, shellJob, testApi, type TestApi } from './helpers/kube.js';
import { startTestS3, throttlingProxy } from './helpers/s3.js';
import { bucketEnv, FAST_TUNING, PREFIX, startTestController } from './helpers/controller.js';
import { startControllerProcess } from './helpers/process.js';

/** `seq -f '%0<width>.0f' 1 <lines>`: numbered lines, so a gap or a repeat changes the bytes. */
function numberedLines(lines: number, width: number): { script: string; sha256: string; bytes: number } {
  const hash = createHash('sha256');
  let bytes = 0;
  for (let i = 1; i <= lines; i++) {
    const line = `${String(i).padStart(width, '0')}\n`;
    hash.update(line);
    bytes += line.length;
  }
  return { script: `seq -f '%0${width}.0f' 1 ${lines}`, sha256: hash.digest('hex'), bytes };
}

function sha256(buffer: Buffer): string {
  return createHash('sha256').update(buffer).digest('hex');
}

async function archivedAndReleased(api: TestApi, ns: string, job: string, timeoutMs = 20_000): Promise<V1Pod> {
  return waitFor(
    async () => {
      const [pod] = await podsOfJob(api, ns, job);
      return pod?.metadata?.annotations?.['pygeoapi.io/log-archive'] && !pod.metadata.finalizers?.includes(FINALIZER) ? pod : undefined;
    },
    { what: `${job} to be archived and released`, timeoutMs },
  );
}

t.test('replicas', async (t) => {
  const namespaces = ['two', 'lease', 'crash', 'resume', 'standby', 'standby-off', 'big'];
  const cluster = await startTestCluster(t, { namespaces, containerRemovalDelayMs: 1_000 });
  const api = testApi(cluster);
  t.teardown(() => api.close());
  const s3 = await startTestS3(t);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'controller-replicas-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const kubeconfigFile = path.join(dir, 'kubeconfig');
  await cluster.writeKubeconfig(kubeconfigFile);

  t.test('two replicas: one leader; stopping it mid-upload hands the work over', async (t) => {
    const ns = 'two';
    // Uploads go through a 16 MB/s proxy, so there is time to stop the leader between parts.
    const slow = await throttlingProxy(t, s3.port, 16 * 1024 * 1024);
    const start = (identity: string) =>
      startTestController(t, { kubeConfig: cluster.kubeConfig(), namespaces: [ns], env: bucketEnv(slow.endpoint), identity });
    const a = await start('replica-a');
    const b = await start('replica-b');
    await waitFor(() => a.isLeader() || b.isLeader(), { what: 'a leader' });
    const [leader, follower] = a.isLeader() ? [a, b] : [b, a];
    t.notOk(follower.isLeader(), 'exactly one leads');
    t.equal(await leader.metric('k8s_job_manager_controller_leader'), 1);
    t.equal(await follower.metric('k8s_job_manager_controller_leader'), 0);

    await api.create(jobsPath(ns), shellJob('first', { containers: [{ name: 'main', script: 'sleep 0.2; echo first' }] }));
    await archivedAndReleased(api, ns, 'first');
    t.equal(await leader.metric('k8s_job_manager_controller_log_archives_total', { result: 'done' }), 1, 'the leader archived it');
    t.equal(await follower.metric('k8s_job_manager_controller_log_archives_total', { result: 'done' }), 0, 'the follower did nothing');

    const log = numberedLines(20_000, 1000);
    await api.create(jobsPath(ns), shellJob('second', { containers: [{ name: 'main', script: log.script }] }));
    await waitFor(async () => (await s3.storedParts(`${PREFIX}${ns}/second/`)) > 0, { what: 'the upload to be under way', timeoutMs: 30_000 });
    await waitFor(async () => ((await follower.metric('k8s_job_manager_controller_captures', { role: 'standby' })) === 1 ? true : undefined), {
      what: 'the follower to capture the running job as a standby',
    });
    t.equal(await leader.metric('k8s_job_manager_controller_captures', { role: 'leading' }), 1, 'the leader captures it as the leader');
    const stoppedAt = Date.now();
    await leader.stop();
    const stopMs = Date.now() - stoppedAt;
    t.ok(stopMs < 1_000, `stop aborted the upload instead of waiting for it (${stopMs} ms)`);
    await waitFor(() => follower.isLeader(), { what: 'the follower to take over', timeoutMs: 3_000 });
    t.ok(Date.now() - stoppedAt < 2_000, `took over within the lease duration (${Date.now() - stoppedAt} ms)`);
    const pod = await archivedAndReleased(api, ns, 'second');
    const key = `${PREFIX}${ns}/second/${pod.metadata!.name}/main.log`;
    t.equal(sha256((await s3.get(key))!), log.sha256, 'the new leader archived the whole log');
    t.equal(await follower.metric('k8s_job_manager_controller_log_archives_total', { result: 'done' }), 1);
    t.ok(follower.logs.some((l) => l.msg === 'resuming the capture from the journal'), 'the new leader took up what it had captured as a standby');
    t.same(
      (await s3.keys(`${PREFIX}${ns}/second/`)),
      [`${PREFIX}${ns}/second/job.json`, key],
      'one object per log, no leftovers',
    );
  });

  t.test('lease API 503s: a burst within the renew deadline keeps the leader; past the lease duration it stops acting and one leader takes over', async (t) => {
    const ns = 'lease';
    const leaderElection = { leaseName: 'lease-burst', leaseDurationSeconds: 4, renewDeadlineSeconds: 3, retryPeriodSeconds: 0.3 };
    const start = (identity: string) =>
      startTestController(t, { kubeConfig: cluster.kubeConfig(), namespaces: [ns], env: bucketEnv(s3.endpoint), identity, tuning: { leaderElection } });
    const a = await start('lease-a');
    const b = await start('lease-b');
    await waitFor(() => a.isLeader() || b.isLeader(), { what: 'a leader' });
    const [leader, follower] = a.isLeader() ? [a, b] : [b, a];
    t.teardown(() => cluster.faults.injectErrors(undefined));
    /** Samples both for `ms`: how often the leader did not lead, and how often both led. */
    const watchLeaders = async (ms: number): Promise<{ leaderless: number; both: number; samples: number }> => {
      const seen = { leaderless: 0, both: 0, samples: 0 };
      for (const end = Date.now() + ms; Date.now() < end; await new Promise((resolve) => setTimeout(resolve, 10))) {
        seen.samples++;
        if (!leader.isLeader()) seen.leaderless++;
        if (a.isLeader() && b.isLeader()) seen.both++;
      }
      return seen;
    };
    const lease = /leases\/lease-burst/;

    // Every lease request of both replicas fails for half the renew deadline.
    const before = cluster.faults.stats.injectedErrors;
    cluster.faults.injectErrors({ share: 1, status: 503, match: lease });
    const burst = await watchLeaders(1_500);
    cluster.faults.injectErrors(undefined);
    t.ok(cluster.faults.stats.injectedErrors - before >= 3, `the burst was met (${cluster.faults.stats.injectedErrors - before} failed lease requests)`);
    t.same(burst, { ...burst, leaderless: 0, both: 0 }, `the leader kept leading through the burst (${burst.samples} samples)`);
    t.notOk(follower.isLeader());
    t.notOk(leader.logs.some((l) => l.msg === 'stopped leading'), 'no step down');
    const renewTime = async (): Promise<string> =>
      (await api.get<{ spec: { renewTime: string } }>(`/apis/coordination.k8s.io/v1/namespaces/${ns}/leases/lease-burst`)).spec.renewTime;
    const afterBurst = await renewTime();
    await waitFor(async () => (await renewTime()) !== afterBurst, { what: 'a renewal after the burst' });

    // An outage longer than the lease duration: the leader stops acting within the renew deadline.
    cluster.faults.injectErrors({ share: 1, status: 503, match: lease });
    const outageAt = Date.now();
    await waitFor(() => !leader.isLeader(), { what: 'the leader to stop acting', timeoutMs: 6_000 });
    const stoppedMs = Date.now() - outageAt;
    t.ok(stoppedMs <= 3_000 + 1_000, `stopped acting within the renew deadline (${stoppedMs} ms)`);
    t.equal(await leader.metric('k8s_job_manager_controller_leader'), 0);
    await api.create(jobsPath(ns), shellJob('unled', { containers: [{ name: 'main', script: 'echo while no one leads' }] }));
    await waitFor(async () => (await podsOfJob(api, ns, 'unled'))[0]?.status?.phase === 'Succeeded', { what: 'the job to end', timeoutMs: 10_000 });
    const rest = 4_000 + 500 - (Date.now() - outageAt);
    const outage = await watchLeaders(Math.max(rest, 0));
    t.equal(outage.both, 0, 'never two leaders');
    const [unled] = await podsOfJob(api, ns, 'unled');
    t.notOk(unled?.metadata?.annotations?.['pygeoapi.io/log-archive'], 'no one archived while no one held the lease');

    cluster.faults.injectErrors(undefined);
    await waitFor(() => a.isLeader() || b.isLeader(), { what: 'a leader after the outage', timeoutMs: 10_000 });
    t.notOk(a.isLeader() && b.isLeader(), 'exactly one leads');
    await archivedAndReleased(api, ns, 'unled');
    const done = (await a.metric('k8s_job_manager_controller_log_archives_total', { result: 'done' })) + (await b.metric('k8s_job_manager_controller_log_archives_total', { result: 'done' }));
    t.equal(done, 1, 'archived once, by the new leader');
  });

  t.test('killed in the middle of an upload and restarted: one complete archive', async (t) => {
    const ns = 'crash';
    // Uploads go through a 16 MB/s proxy, so there is time to kill the controller between parts.
    const slow = await throttlingProxy(t, s3.port, 16 * 1024 * 1024);
    const log = numberedLines(20_000, 1000);
    const env = bucketEnv(slow.endpoint);
    const first = await startControllerProcess(t, { kubeconfigFile, namespace: ns, identity: 'first', env, tuning: FAST_TUNING });
    await api.create(jobsPath(ns), shellJob('crash', { containers: [{ name: 'main', script: log.script }] }));
    // Parts go up while the job prints: killed once the first is stored.
    await waitFor(async () => (await s3.storedParts(`${PREFIX}${ns}/crash/`)) > 0, { what: 'a first part to be stored', timeoutMs: 30_000 });
    await first.kill('SIGKILL');

    const [pod] = await podsOfJob(api, ns, 'crash');
    const uploading = { key: `${PREFIX}${ns}/crash/${pod!.metadata!.name}/main.log` };
    t.ok(pod?.metadata?.finalizers?.includes(FINALIZER), 'the pod is still held after the crash');
    t.notOk(pod?.metadata?.annotations?.['pygeoapi.io/log-archive'], 'and not marked archived');
    t.equal(await s3.get(String(uploading.key)), undefined, 'the interrupted upload left no object');

    const second = await startControllerProcess(t, { kubeconfigFile, namespace: ns, identity: 'second', env, tuning: FAST_TUNING });
    await archivedAndReleased(api, ns, 'crash', 30_000);
    const stored = (await s3.get(String(uploading.key)))!;
    t.equal(stored.length, log.bytes, 'complete size');
    t.equal(sha256(stored), log.sha256, 'the exact bytes the job printed');
    // The job history index (.history/) has an entry of its own for the job.
    const archived = (await s3.keys(`${PREFIX}${ns}/`)).filter((k) => !k.includes('/.history/'));
    t.same(archived, [`${PREFIX}${ns}/crash/job.json`, String(uploading.key)].sort(), 'no duplicate objects');
    await second.kill('SIGTERM');
  });

  t.test('killed while streaming and restarted in the same pod: resumes from the journal, one complete archive', async (t) => {
    const ns = 'resume';
    const slow = await throttlingProxy(t, s3.port, 16 * 1024 * 1024);
    const log = numberedLines(30_000, 1000);
    // The same identity and spool folder: a container restart in the same pod (the emptyDir stays).
    const env = { ...bucketEnv(slow.endpoint), PYGEOAPI_K8S_MANAGER_CONTROLLER_SPOOL_DIR: path.join(dir, 'spool') };
    const first = await startControllerProcess(t, { kubeconfigFile, namespace: ns, identity: 'resumer', env, tuning: FAST_TUNING });
    await api.create(jobsPath(ns), shellJob('resume', { containers: [{ name: 'main', script: `${log.script}; sleep 1` }] }));
    await waitFor(async () => ((await s3.storedParts(`${PREFIX}${ns}/resume/`)) > 0 ? true : undefined), { what: 'a first streamed part', timeoutMs: 30_000 });
    await first.kill('SIGKILL');
    const second = await startControllerProcess(t, { kubeconfigFile, namespace: ns, identity: 'resumer', env, tuning: FAST_TUNING });
    const pod = await archivedAndReleased(api, ns, 'resume', 60_000);
    t.ok(second.logs.some((l) => l.msg === 'resuming the capture from the journal'), 'the restarted controller took up the journal');
    const stored = (await s3.get(`${PREFIX}${ns}/resume/${pod.metadata!.name}/main.log`))!;
    t.equal(stored.length, log.bytes, 'complete size');
    t.equal(sha256(stored), log.sha256, 'the exact bytes the job printed');
    await second.kill('SIGTERM');
  });

  // Chaos seed 20261212 (issue 15): the leader was SIGKILLed 1.4 s after a 32 MB job ended and its pod was deleted; the
  // next leader read the log from the kubelet, which removed the containers meanwhile, and archived it cut (recorded so).
  for (const standby of [true, false]) {
    t.test(`the leader killed after a job's pod was deleted and the node removed its containers: ${standby ? 'the standby replica archives the whole log' : 'without standby capture, the log is recorded lost'}`, async (t) => {
      const ns = standby ? 'standby' : 'standby-off';
      const log = numberedLines(40_000, 100);
      const spool = path.join(dir, `spool-${ns}`);
      const env = (endpoint: string) => ({
        ...bucketEnv(endpoint),
        PYGEOAPI_K8S_MANAGER_CONTROLLER_SPOOL_DIR: spool,
        PYGEOAPI_K8S_MANAGER_CONTROLLER_STANDBY_CAPTURE: String(standby),
      });
      // The leader cannot reach S3 (nothing listens there), so it captures and holds the pod but never archives it.
      const leader = await startControllerProcess(t, { kubeconfigFile, namespace: ns, identity: 'leader', env: env('http://127.0.0.1:9'), tuning: FAST_TUNING });
      await leader.logged((l) => l.msg === 'became leader', 'the first replica to lead');
      const follower = await startControllerProcess(t, { kubeconfigFile, namespace: ns, identity: 'follower', env: env(s3.endpoint), tuning: FAST_TUNING });
      await api.create(jobsPath(ns), shellJob('handover', { containers: [{ name: 'main', script: log.script }] }));
      const ended = await waitFor(async () => ((await podsOfJob(api, ns, 'handover'))[0]?.status?.phase === 'Succeeded' ? (await podsOfJob(api, ns, 'handover'))[0] : undefined), {
        what: 'the job to end',
        timeoutMs: 30_000,
      });
      const name = ended.metadata!.name!;
      if (standby) {
        // The follower read the log to its end into its own spool (its journal says so).
        const folder = path.join(spool, 'follower');
        await waitFor(
          async () => {
            for (const entry of await readdir(folder).catch(() => [] as string[])) {
              const journal = await readFile(path.join(folder, entry, 'main.0.journal.json'), 'utf8').catch(() => '');
              if (journal && (JSON.parse(journal) as { state: string; committed: number }).state === 'complete') return true;
            }
            return undefined;
          },
          { what: "the standby capture to read the log to its end", timeoutMs: 30_000 },
        );
      }
      await api.remove(`/api/v1/namespaces/${ns}/pods/${name}`);
      // The node removes a deleted pod's containers (after 1 s here): its log answers 404 from then on.
      await waitFor(async () => ((await api.text(`/api/v1/namespaces/${ns}/pods/${name}/log`).catch((error: unknown) => error)) instanceof Error ? true : undefined), {
        what: 'the node to remove the containers',
        timeoutMs: 10_000,
      });
      await leader.kill('SIGKILL');
      await waitFor(async () => ((await api.get<V1Pod>(`/api/v1/namespaces/${ns}/pods/${name}`).catch(() => undefined)) ? undefined : true), {
        what: 'the new leader to archive the pod and release it',
        timeoutMs: 30_000,
      });
      const record = JSON.parse((await s3.get(`${PREFIX}${ns}/handover/job.json`))!.toString('utf8')) as { status: { status: string }; logs: Array<{ bytes: number; complete: boolean; sha256: string; incompleteReason?: string }> };
      const stored = (await s3.get(`${PREFIX}${ns}/handover/${name}/main.log`))!;
      if (standby) {
        t.equal(stored.length, log.bytes, 'complete size');
        t.equal(sha256(stored), log.sha256, 'the exact bytes the job printed');
        t.match(record, { status: { status: 'successful' }, logs: [{ bytes: log.bytes, complete: true, sha256: log.sha256 }] }, 'recorded complete');
        t.ok(follower.logs.some((l) => l.msg === 'resuming the capture from the journal'), 'the new leader took up its standby spool');
      } else {
        t.match(record, { status: { status: 'failed' }, logs: [{ complete: false, incompleteReason: /gone/ }] }, 'recorded lost, loudly, as before standby capture');
      }
      await follower.kill('SIGTERM');
    });
  }

  t.test('a 50 MB log is archived in bounded memory', async (t) => {
    const ns = 'big';
    const log = numberedLines(50_000, 1000);
    const proc = await startControllerProcess(t, { kubeconfigFile, namespace: ns, identity: 'big', env: bucketEnv(s3.endpoint), tuning: FAST_TUNING });
    await waitFor(() => proc.logs.some((l) => l.msg === 'became leader'), { what: 'the controller process to lead' });
    const baseline = await proc.rss();
    await api.create(jobsPath(ns), shellJob('big', { containers: [{ name: 'main', script: log.script }] }));
    const pod = await archivedAndReleased(api, ns, 'big', 60_000);
    const peak = await proc.peakRss();
    const stored = (await s3.get(`${PREFIX}${ns}/big/${pod.metadata!.name}/main.log`))!;
    t.equal(stored.length, log.bytes);
    t.equal(sha256(stored), log.sha256, 'byte-identical');
    // Holding the log whole would cost at least its size; streaming costs the upload's parts in flight.
    // (The process runs with a small young generation, so garbage does not blur the peak.)
    const growth = peak - baseline;
    t.ok(growth < log.bytes, `peak RSS grew by ${(growth / 1024 / 1024).toFixed(1)} MB for a ${(log.bytes / 1024 / 1024).toFixed(0)} MB log`);
    await proc.kill('SIGTERM');
  });
});
