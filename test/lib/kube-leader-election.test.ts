import t, { type Test } from 'tap';
import pino from 'pino';
import { LeaderElector, microTime, renewFailureOf, renewStep, type ElectionTiming, type LeaderElectorOptions, type RenewState, type RenewStep } from '../../lib/kube/leader-election.js';
import { KubeApiError, KubeHttp, type KubeRequest } from '../../lib/kube/http.js';
import { startTestCluster } from '../helpers/local-cluster.js';
import { testApi } from '../controller/helpers/kube.js';
import { waitFor } from '../helpers/wait-for.js';
import type { LocalCluster } from '../../local-cluster/index.js';

const logger = pino({ level: process.env.LE_DEBUG ? 'debug' : 'silent' });
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


t.test('renewFailureOf: what a failed renewal was', async (t) => {
  const cases: Array<[unknown, string]> = [
    [new KubeApiError(503, 'unavailable'), 'transient'],
    [new KubeApiError(500, 'internal'), 'transient'],
    [new KubeApiError(504, 'gateway timeout'), 'transient'],
    [new KubeApiError(429, 'too many requests'), 'transient'],
    [new KubeApiError(408, 'request timeout'), 'transient'],
    [Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }), 'transient'],
    [new DOMException('The operation was aborted due to timeout', 'TimeoutError'), 'transient'],
    [new KubeApiError(409, 'the object has been modified'), 'conflict'],
    [new KubeApiError(403, 'forbidden'), 'refused'],
    [new KubeApiError(404, 'not found'), 'refused'],
    [new KubeApiError(422, 'invalid'), 'refused'],
  ];
  for (const [error, kind] of cases) t.equal(renewFailureOf(error), kind, `${(error as Error).message} → ${kind}`);
});

t.test('renewStep: keep, retry or step down', async (t) => {
  const timing: ElectionTiming = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 };
  const low = (): number => 0; // the jitter's lowest factor, 0.5
  const high = (): number => 0.999999;
  const cases: Array<{ name: string; state: RenewState; random?: () => number; want: RenewStep | ((step: RenewStep) => boolean) }> = [
    { name: 'renewed: again in a retry period', state: { sinceRenewMs: 0, outcome: 'renewed', failures: 0 }, want: { action: 'keep', delayMs: 2_000 } },
    { name: 'read held by another: step down at once', state: { sinceRenewMs: 100, outcome: 'lost', failures: 0 }, want: { action: 'step-down', why: 'another replica holds the lease' } },
    { name: '503, first: a quick jittered retry, same lease', state: { sinceRenewMs: 2_100, outcome: 'transient', failures: 1 }, random: low, want: { action: 'retry', delayMs: 125, reread: false } },
    { name: '503, first, top of the jitter', state: { sinceRenewMs: 2_100, outcome: 'transient', failures: 1 }, random: high, want: (s) => s.action === 'retry' && s.delayMs > 249 && s.delayMs < 250 },
    { name: '503, third: backed off', state: { sinceRenewMs: 3_000, outcome: 'transient', failures: 3 }, random: low, want: { action: 'retry', delayMs: 500, reread: false } },
    { name: '503, many: at most half the retry period', state: { sinceRenewMs: 5_000, outcome: 'transient', failures: 20 }, random: high, want: (s) => s.action === 'retry' && s.delayMs > 999 && s.delayMs < 1_000 },
    { name: '429 with Retry-After: as asked', state: { sinceRenewMs: 2_000, outcome: 'transient', failures: 1, retryAfterMs: 3_000 }, random: low, want: { action: 'retry', delayMs: 3_000, reread: false } },
    { name: 'Retry-After past the deadline: brought forward to it', state: { sinceRenewMs: 8_000, outcome: 'transient', failures: 2, retryAfterMs: 5_000 }, want: { action: 'retry', delayMs: 2_000, reread: false } },
    { name: 'retry brought forward to what is left of the deadline', state: { sinceRenewMs: 9_900, outcome: 'transient', failures: 9 }, random: high, want: { action: 'retry', delayMs: 100, reread: false } },
    { name: 'deadline reached: step down', state: { sinceRenewMs: 10_000, outcome: 'transient', failures: 9 }, want: (s) => s.action === 'step-down' && /renew deadline \(9 failed attempts\)/.test(s.why) },
    { name: 'past the lease duration: step down', state: { sinceRenewMs: 16_000, outcome: 'transient', failures: 1 }, want: (s) => s.action === 'step-down' },
    { name: '409: read the lease again at once', state: { sinceRenewMs: 2_000, outcome: 'conflict', failures: 1 }, want: { action: 'retry', delayMs: 0, reread: true } },
    { name: '409 again: read again after a back-off', state: { sinceRenewMs: 2_000, outcome: 'conflict', failures: 2 }, random: low, want: { action: 'retry', delayMs: 250, reread: true } },
    { name: '409 past the deadline: step down', state: { sinceRenewMs: 10_001, outcome: 'conflict', failures: 1 }, want: (s) => s.action === 'step-down' },
    { name: '403: retried each retry period, reading again', state: { sinceRenewMs: 2_000, outcome: 'refused', failures: 1 }, want: { action: 'retry', delayMs: 2_000, reread: true } },
  ];
  for (const c of cases) {
    const step = renewStep(timing, c.state, c.random ?? low);
    if (typeof c.want === 'function') t.ok(c.want(step), `${c.name}: ${JSON.stringify(step)}`);
    else t.same(step, c.want, c.name);
  }
});

/** A client whose lease requests fail with 503 while `failing`, or the next `failNext` of them (one replica's view of an overloaded API server). */
class FlakyHttp extends KubeHttp {
  failing = false;
  failNext = 0;
  failed = 0;
  override async request<T = unknown>(options: KubeRequest): Promise<T> {
    if ((this.failing || this.failNext > 0) && options.path.includes('/leases')) {
      this.failNext = Math.max(0, this.failNext - 1);
      this.failed++;
      throw new KubeApiError(503, 'the server is currently unable to handle the request');
    }
    return super.request<T>(options);
  }
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

  t.test('a burst of 503s shorter than the renew deadline: the leader keeps the lease, no one else leads', async (t) => {
    const timing = { leaseDurationSeconds: 4, renewDeadlineSeconds: 3, retryPeriodSeconds: 0.3 };
    const a = candidate(cluster, t, 'a', 'burst', timing);
    await a.elector.start();
    t.ok(a.elector.isLeader);
    const b = candidate(cluster, t, 'b', 'burst', timing);
    await b.elector.start();
    t.teardown(() => cluster.faults.injectErrors(undefined));
    const before = cluster.faults.stats.injectedErrors;
    // Every lease request (both replicas') fails for half the renew deadline.
    cluster.faults.injectErrors({ share: 1, status: 503, match: /leases\/burst/ });
    const burst = new Promise((resolve) => setTimeout(resolve, 1_500)).then(() => cluster.faults.injectErrors(undefined));
    await neverTwoLeaders(t, a, b, burst);
    const injected = cluster.faults.stats.injectedErrors - before;
    t.ok(injected >= 3, `the burst was met: ${injected} requests failed`);
    // Renewed after the burst, with no step down in between.
    const renewTime = async (): Promise<string> => (await api.get<{ spec: { renewTime: string } }>(`/apis/coordination.k8s.io/v1/namespaces/${NS}/leases/burst`)).spec.renewTime;
    const afterBurst = await renewTime();
    const renewed = waitFor(async () => (await renewTime()) !== afterBurst, { what: 'a renewal after the burst', timeoutMs: 3_000 });
    await neverTwoLeaders(t, a, b, renewed);
    t.ok(a.elector.isLeader, 'still the leader');
    t.equal(a.stopped, 0, 'never stepped down');
    t.equal(b.started, 0, 'the other never led');
  });

  t.test('ten 503s in a row, more than the renew deadline holds retry periods: retried faster, the leader keeps the lease', async (t) => {
    // At one attempt per retry period (0.3 s) ten failures take the whole renew deadline (3 s); backed off from 37 ms to 150 ms, about half.
    const timing = { leaseDurationSeconds: 4, renewDeadlineSeconds: 3, retryPeriodSeconds: 0.3 };
    const flaky = new FlakyHttp(cluster.kubeConfig());
    t.teardown(() => flaky.close());
    const a = candidate(cluster, t, 'a', 'ten', { ...timing, http: flaky });
    await a.elector.start();
    const b = candidate(cluster, t, 'b', 'ten', timing);
    await b.elector.start();
    flaky.failNext = 10;
    await neverTwoLeaders(t, a, b, waitFor(() => flaky.failNext === 0, { what: 'the ten failures' }));
    const path = `/apis/coordination.k8s.io/v1/namespaces/${NS}/leases/ten`;
    const before = (await api.get<{ spec: { renewTime: string } }>(path)).spec.renewTime;
    await neverTwoLeaders(t, a, b, waitFor(async () => (await api.get<{ spec: { renewTime: string } }>(path)).spec.renewTime !== before, { what: 'a renewal after them' }));
    const lease = await api.get<{ spec: { holderIdentity: string } }>(path);
    await neverTwoLeaders(t, a, b, new Promise((resolve) => setTimeout(resolve, 700)));
    t.equal(lease.spec.holderIdentity, 'a');
    t.equal(a.stopped, 0, 'never stepped down');
    t.equal(b.started, 0, 'the other never led');
  });

  t.test("a 409 (the lease changed under the leader) reads it again and renews", async (t) => {
    const a = candidate(cluster, t, 'a', 'conflict');
    await a.elector.start();
    const path = `/apis/coordination.k8s.io/v1/namespaces/${NS}/leases/conflict`;
    // Someone else writes the lease (a label): the leader's next renewal of the version it holds gets 409.
    const labelled = await api.mergePatch<{ metadata: { resourceVersion: string } }>(path, { metadata: { labels: { touched: 'yes' } } });
    await waitFor(
      async () => {
        const lease = await api.get<{ metadata: { resourceVersion: string }; spec: { holderIdentity: string } }>(path);
        return lease.metadata.resourceVersion !== labelled.metadata.resourceVersion && lease.spec.holderIdentity === 'a';
      },
      { what: 'a renewal after the conflict' },
    );
    t.ok(a.elector.isLeader, 'still the leader');
    t.equal(a.stopped, 0, 'never stepped down');
  });

  t.test("the leader's API fails longer than the lease duration: it steps down in the renew deadline, the other takes over", async (t) => {
    const flaky = new FlakyHttp(cluster.kubeConfig());
    t.teardown(() => flaky.close());
    const a = candidate(cluster, t, 'a', 'outage', { http: flaky });
    await a.elector.start();
    t.ok(a.elector.isLeader);
    const b = candidate(cluster, t, 'b', 'outage');
    await b.elector.start();
    flaky.failing = true;
    const outageAt = Date.now();
    await neverTwoLeaders(t, a, b, waitFor(() => a.stopped === 1, { what: 'a to step down', timeoutMs: 3_000 }));
    const stepDownMs = Date.now() - outageAt;
    t.ok(stepDownMs <= 1_500, `stepped down within the renew deadline (${stepDownMs} ms)`);
    t.notOk(a.elector.isLeader);
    t.ok(flaky.failed >= 3, `it retried first (${flaky.failed} failed requests)`);
    await neverTwoLeaders(t, a, b, waitFor(() => b.elector.isLeader, { what: 'b to take over', timeoutMs: 6_000 }));
    const tookMs = Date.now() - outageAt;
    t.ok(tookMs > stepDownMs, `the other took over once the lease expired (${tookMs} ms)`);
    // Still failing for longer than the lease duration: a stays a follower; then it recovers as one.
    await neverTwoLeaders(t, a, b, new Promise((resolve) => setTimeout(resolve, 1_000)));
    flaky.failing = false;
    await waitFor(() => a.elector.leader === 'b', { what: 'a to see b leading' });
    await neverTwoLeaders(t, a, b, new Promise((resolve) => setTimeout(resolve, 1_000)));
    t.ok(b.elector.isLeader);
    t.equal(a.started, 1, 'a did not lead again');
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
