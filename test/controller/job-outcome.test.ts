/**
 * How a job ended when its Job is gone: a Job deleted after it completed
 * keeps its real outcome; dismissed means dismissed through the API or
 * deleted while running (the chaos run found completed kubectl Jobs
 * recorded as dismissed after their deletion).
 */
import t from 'tap';
import type { V1Job, V1Pod } from '@kubernetes/client-node';
import { endedBeforeDeletion, mergeInferred, observeEnding, recordedStatus } from '../../controller/job-outcome.js';
import { ANNOTATIONS } from '../../lib/contract.js';
import type { StatusInfo } from '../../lib/job-status.js';

const at = (s: string): Date => new Date(`2026-01-01T12:00:${s}Z`);

function pod(phase: string, finishedAt?: string, deletion?: string, exitCode = phase === 'Succeeded' ? 0 : 1): V1Pod {
  return {
    metadata: { name: 'p', namespace: 'ns', uid: 'u', ...(deletion ? { deletionTimestamp: at(deletion), deletionGracePeriodSeconds: 0 } : {}) },
    spec: { containers: [{ name: 'main' }] },
    status: {
      phase,
      containerStatuses: finishedAt
        ? [{ name: 'main', image: 'i', imageID: '', ready: false, restartCount: 0, state: { terminated: { exitCode, finishedAt: at(finishedAt) } } }]
        : [{ name: 'main', image: 'i', imageID: '', ready: true, restartCount: 0, state: { running: {} } }],
    },
  };
}

t.test('observeEnding: what watching the pod showed', async (t) => {
  t.equal(observeEnding(pod('Running'), undefined), undefined, 'running: nothing known yet');
  t.equal(observeEnding(pod('Succeeded', '01'), undefined), true, 'seen ended, not deleted');
  t.equal(observeEnding(pod('Running', undefined, '02'), undefined), false, 'seen deleted while running');
  t.equal(observeEnding(pod('Failed', '02', '02'), undefined), undefined, 'first seen deleted and ended: not known');
  t.equal(observeEnding(pod('Failed', '02', '02'), true), true, 'the first observation stays');
  t.equal(observeEnding(pod('Succeeded', '03', '04'), false), false, 'deleted while running, then ended: stays false');
});

t.test('endedBeforeDeletion', async (t) => {
  const cases: Array<[string, V1Pod, boolean | undefined, boolean]> = [
    ['not ended', pod('Running'), undefined, false],
    ['ended, not deleted', pod('Succeeded', '01'), undefined, true],
    ['observed ended before deletion', pod('Succeeded', '05', '05'), true, true],
    ['observed deleted while running', pod('Failed', '01', '09'), false, false],
    ['not observed: deleted seconds after the end', pod('Succeeded', '01', '09'), undefined, true],
    ['not observed: marked in the second it stopped on SIGTERM (the kubelet after a kill)', pod('Failed', '05', '05', 143), undefined, false],
    ['not observed: stopped by SIGKILL in the same second', pod('Failed', '05', '05', 137), undefined, false],
    ['not observed: succeeded and deleted in the same second (a Job deleted the moment it completed)', pod('Succeeded', '05', '05'), undefined, true],
    ['not observed: failed by itself and deleted in the same second', pod('Failed', '05', '05', 2), undefined, true],
    ['not observed, no container end known', { ...pod('Failed', undefined, '05'), status: { phase: 'Failed' } }, undefined, false],
    // Deleted while running with a 30 s grace period: the deletion time is the request's plus the grace, until the
    // kubelet's final delete marks it again; the container stopped on SIGTERM long before that mark (chaos seed 20261202).
    [
      'not observed: deleted while running, the grace period not yet over',
      { ...pod('Failed', '05', '34', 143), metadata: { name: 'p', namespace: 'ns', uid: 'u', deletionTimestamp: at('34'), deletionGracePeriodSeconds: 30 } },
      undefined,
      false,
    ],
    [
      'not observed: ended, then deleted with a grace period',
      { ...pod('Failed', '01', '39', 2), metadata: { name: 'p', namespace: 'ns', uid: 'u', deletionTimestamp: at('39'), deletionGracePeriodSeconds: 30 } },
      undefined,
      true,
    ],
  ];
  for (const [what, p, observed, want] of cases) t.equal(endedBeforeDeletion(p, observed), want, what);
});

t.test('recordedStatus', async (t) => {
  const job = (conditions: string[] = [], annotations: Record<string, string> = {}): V1Job => ({
    metadata: { name: 'pygeoapi-job-1', namespace: 'ns', annotations },
    status: { conditions: conditions.map((type) => ({ type, status: 'True' })) },
  });
  const cases: Array<[string, V1Job, boolean, V1Pod, boolean, string, boolean]> = [
    ['live Job, complete', job(['Complete']), false, pod('Succeeded', '01'), true, 'successful', false],
    ['deleted Job last seen complete', job(['Complete']), true, pod('Succeeded', '01', '09'), true, 'successful', false],
    ['deleted Job last seen failed', job(['Failed']), true, pod('Failed', '01', '09'), true, 'failed', false],
    ['dismissed through the API (annotation)', job([], { [ANNOTATIONS.dismissed]: '2026-01-01T12:00:02Z' }), true, pod('Failed', '03', '03'), false, 'dismissed', false],
    ['dismissed after it completed (annotation)', job(['Complete'], { [ANNOTATIONS.dismissed]: '2026-01-01T12:00:09Z' }), true, pod('Succeeded', '01'), true, 'dismissed', false],
    ['the bug: completed kubectl Job deleted afterwards, never seen (stand-in)', job(), true, pod('Succeeded', '01', '09'), true, 'successful', true],
    ['completed and deleted, Job last seen before its end', job(), true, pod('Failed', '01', '09'), true, 'failed', true],
    ['deleted while running', job(), true, pod('Failed', '05', '05'), false, 'dismissed', true],
    ['deleted while running, exited 0 on SIGTERM', job(), true, pod('Succeeded', '05', '05'), false, 'dismissed', true],
    // The 300-job chaos run (seed 20261204): the Job watch stalled and dropped as the Job completed and was deleted; the
    // pod, held by the finalizer, was archived while the cache still had the Job as first seen, and recorded "accepted".
    ['live Job as first seen, its pod succeeded', job(), false, pod('Succeeded', '01'), true, 'successful', true],
    ['live Job as first seen, its pod failed', job(), false, pod('Failed', '01'), true, 'failed', true],
    ['live Job, not ended, its pod deleted while it ran (a next pod may run)', job(), false, pod('Failed', '05', '05'), false, 'accepted', false],
  ];
  for (const [what, j, deleted, p, endedFirst, want, inferred] of cases) {
    const decided = recordedStatus(j, deleted, p, endedFirst, 'pygeoapi-job-');
    t.equal(decided.status.status, want, `${what}: status`);
    t.equal(decided.inferred, inferred, `${what}: inferred`);
    if (want === 'successful' || want === 'failed') t.ok(decided.status.finished, `${what}: has a finished time`);
  }
});

t.test('mergeInferred: an inferred status never undoes a recorded outcome', async (t) => {
  const s = (status: StatusInfo['status']): StatusInfo => ({ jobID: '1', type: 'process', status });
  t.equal(mergeInferred({ status: 'successful' }, s('dismissed')).status, 'successful', 'completed, then archived again after its deletion');
  t.equal(mergeInferred({ status: 'failed' }, s('dismissed')).status, 'dismissed', 'a retry pod deleted while running');
  t.equal(mergeInferred({ status: 'dismissed' }, s('failed')).status, 'dismissed', 'the failed first pod archived after the dismissed retry');
  t.equal(mergeInferred({ status: 'running' }, s('failed')).status, 'failed');
  t.equal(mergeInferred(undefined, s('successful')).status, 'successful');
});
