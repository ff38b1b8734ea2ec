import t, { type Test } from 'tap';
import pino from 'pino';
import { LeaderElector, microTime, type LeaderElectorOptions } from '../../lib/kube/leader-election.js';
import { startTestCluster } from '../helpers/local-cluster.js';
import { testApi } from '../controller/helpers/kube.js';
import { waitFor } from '../helpers/wait-for.js';
import type { LocalCluster } from '../../local-cluster/index.js';

const logger = pino({ level: 'silent' });
const NS = 'election';
const TIMING = { leaseDurationSeconds: 2, renewDeadlineSeconds: 1, retryPeriodSeconds: 0.2 };

interface Candidate {
  elector: LeaderElector;
  started: number;
  stopped: number;
}

function candidate(cluster: LocalCluster, t: Test, identity: string, lease: string, extra: Partial<LeaderElectorOptions> = {}): Candidate {
  const c: Candidate = { elector: undefined as unknown as LeaderElector, started: 0, stopped: 0 };
  c.elector = new LeaderElector({
    kubeConfig: cluster.kubeConfig(),
    namespace: NS,
    name: lease,
    identity,
    logger,
    ...TIMING,
    onStartedLeading: () => c.started++,
    onStoppedLeading: () => c.stopped++,
    ...extra,
  });
  t.teardown(() => c.elector.stop());
  return c;
}

/** Samples both electors until `done` resolves; fails the test if both ever lead at once. */
async function neverTwoLeaders(t: Test, a: Candidate, b: Candidate, during: Promise<unknown>): Promise<number> {
  let finished = false;
  let samples = 0;
  let overlaps = 0;
  void during.finally(() => (finished = true));
  while (!finished) {
    samples++;
    if (a.elector.isLeader && b.elector.isLeader) overlaps++;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  t.equal(overlaps, 0, `no two leaders at once (${samples} samples)`);
  return samples;
}

t.test('leader election', async (t) => {
  const cluster = await startTestCluster(t, { namespaces: [NS] });
  const api = testApi(cluster);
  t.teardown(() => api.close());

  t.test('validates its timing', async (t) => {
    t.throws(() => candidate(cluster, t, 'x', 'bad', { leaseDurationSeconds: 1, renewDeadlineSeconds: 2 }), /leaseDuration > renewDeadline/);
  });

  t.test('two candidates: exactly one leads, both know who', async (t) => {
    const a = candidate(cluster, t, 'a', 'one');
    const b = candidate(cluster, t, 'b', 'one');
    await Promise.all([a.elector.start(), b.elector.start()]);
    await waitFor(() => a.elector.isLeader || b.elector.isLeader, { what: 'a leader' });
    const [leader, follower] = a.elector.isLeader ? [a, b] : [b, a];
    t.notOk(follower.elector.isLeader, 'only one leads');
    t.equal(leader.started, 1, 'onStartedLeading called once');
    await waitFor(() => follower.elector.leader === leader.elector.leader, { what: 'the follower to see the holder' });
    const lease = await api.get<{ spec: { holderIdentity: string; leaseDurationSeconds: number; renewTime: string } }>(
      `/apis/coordination.k8s.io/v1/namespaces/${NS}/leases/one`,
    );
    t.equal(lease.spec.holderIdentity, leader.elector.leader);
    t.equal(lease.spec.leaseDurationSeconds, 2);
    t.match(lease.spec.renewTime, /\.\d{6}Z$/, 'renewTime is a MicroTime');
    // Staying leader means renewing: after several lease durations it still leads and no one else took over.
    await neverTwoLeaders(t, a, b, new Promise((resolve) => setTimeout(resolve, 2_500)));
    t.ok(leader.elector.isLeader, 'the leader kept the lease by renewing it');
    t.equal(leader.stopped, 0);
  });

  t.test('stopping the leader hands over within the lease duration', async (t) => {
    const a = candidate(cluster, t, 'a', 'handover');
    await a.elector.start();
    t.ok(a.elector.isLeader, 'the first candidate takes a free lease at once');
    const b = candidate(cluster, t, 'b', 'handover');
    await b.elector.start();
    t.notOk(b.elector.isLeader);
    const stoppedAt = Date.now();
    await a.elector.stop();
    t.equal(a.stopped, 1, 'onStoppedLeading called on stop');
    t.notOk(a.elector.isLeader);
    await waitFor(() => b.elector.isLeader, { what: 'b to take over', timeoutMs: 2_000 });
    const took = Date.now() - stoppedAt;
    t.ok(took < 1_000, `released lease taken over quickly (${took} ms)`);
  });

  t.test('a crashed leader (lease never renewed) is replaced after the lease duration', async (t) => {
    await api.create(`/apis/coordination.k8s.io/v1/namespaces/${NS}/leases`, {
      metadata: { name: 'crashed' },
      spec: { holderIdentity: 'ghost', leaseDurationSeconds: 2, renewTime: microTime(new Date()), acquireTime: microTime(new Date()) },
    });
    const b = candidate(cluster, t, 'b', 'crashed');
    const startedAt = Date.now();
    await b.elector.start();
    t.notOk(b.elector.isLeader, 'a fresh lease of someone else is respected');
    t.equal(b.elector.leader, 'ghost');
    await waitFor(() => b.elector.isLeader, { what: 'b to take over the expired lease', timeoutMs: 4_000 });
    const took = Date.now() - startedAt;
    t.ok(took >= 2_000 && took < 3_000, `taken over after one lease duration (${took} ms)`);
    const lease = await api.get<{ spec: { leaseTransitions: number } }>(`/apis/coordination.k8s.io/v1/namespaces/${NS}/leases/crashed`);
    t.equal(lease.spec.leaseTransitions, 1, 'the transition is counted');
  });

  t.test('API errors: the leader steps down in time and never two lead', async (t) => {
    const a = candidate(cluster, t, 'a', 'errors');
    const b = candidate(cluster, t, 'b', 'errors');
    await a.elector.start();
    await b.elector.start();
    t.ok(a.elector.isLeader);
    t.teardown(() => cluster.faults.injectErrors(undefined));

    // Flaky API: half the lease calls fail for a while.
    cluster.faults.injectErrors({ share: 0.5, status: 500, match: /leases/ });
    await neverTwoLeaders(t, a, b, new Promise((resolve) => setTimeout(resolve, 3_000)));

    // API down for the lease: whoever leads must step down within the renew deadline.
    cluster.faults.injectErrors(undefined);
    await waitFor(() => a.elector.isLeader || b.elector.isLeader, { what: 'a leader before the outage', timeoutMs: 5_000 });
    const leader = a.elector.isLeader ? a : b;
    const stopsBefore = leader.stopped;
    cluster.faults.injectErrors({ share: 1, status: 503, match: /leases/ });
    const outageAt = Date.now();
    const outage = waitFor(() => !leader.elector.isLeader, { what: 'the leader to step down', timeoutMs: 3_000 });
    await neverTwoLeaders(t, a, b, outage);
    const stepDown = Date.now() - outageAt;
    t.ok(stepDown <= 1_300, `stepped down within the renew deadline (${stepDown} ms)`);
    t.equal(leader.stopped, stopsBefore + 1, 'onStoppedLeading called');

    cluster.faults.injectErrors(undefined);
    const recovered = waitFor(() => a.elector.isLeader || b.elector.isLeader, { what: 'a leader after the outage', timeoutMs: 5_000 });
    await neverTwoLeaders(t, a, b, recovered);
  });
});
