import t from 'tap';
import type { V1Job } from '@kubernetes/client-node';
import { jobFinished, jobStatusDocument } from '../../controller/job-status-document.js';

const NOW = new Date('2026-01-02T00:00:00Z');
const created = new Date('2026-01-01T10:00:00Z');
const started = new Date('2026-01-01T10:00:05Z');
const ended = new Date('2026-01-01T10:05:00Z');

function job(status: V1Job['status'], annotations: Record<string, string> = {}, extra: Partial<V1Job['metadata']> = {}): V1Job {
  return {
    metadata: {
      name: 'pygeoapi-job-abc',
      creationTimestamp: created,
      annotations: { 'pygeoapi.io/identifier': 'abc', 'pygeoapi.io/process_id': 'hello', ...annotations },
      ...extra,
    },
    status,
  };
}

t.test('status from the Job', async (t) => {
  const cases: Array<[string, V1Job, boolean, Record<string, unknown>]> = [
    ['accepted', job({}), false, { status: 'accepted', message: 'job accepted' }],
    ['running', job({ active: 1, startTime: started }), false, { status: 'running', started: started.toISOString() }],
    [
      'successful',
      job({ succeeded: 1, startTime: started, completionTime: ended, conditions: [{ type: 'Complete', status: 'True' }] }),
      false,
      { status: 'successful', finished: ended.toISOString(), updated: ended.toISOString(), progress: 100 },
    ],
    ['successful by count (no conditions)', job({ succeeded: 1 }), false, { status: 'successful' }],
    [
      'failed, with the reason',
      job({ failed: 1, conditions: [{ type: 'Failed', status: 'True', reason: 'DeadlineExceeded', message: 'Job was active longer than specified deadline', lastTransitionTime: ended }] }),
      false,
      { status: 'failed', message: 'DeadlineExceeded: Job was active longer than specified deadline', finished: ended.toISOString() },
    ],
    ['dismissed through the API', job({ active: 1 }, { 'pygeoapi.io/dismissed': '2026-01-01T10:01:00Z' }), false, { status: 'dismissed', finished: '2026-01-01T10:01:00.000Z' }],
    ['deleted while running', job({ active: 1 }, {}, { deletionTimestamp: ended }), true, { status: 'dismissed', finished: ended.toISOString() }],
    ['deleted without a time: now', job({ active: 1 }), true, { status: 'dismissed', finished: NOW.toISOString(), updated: NOW.toISOString() }],
    ['deleted after success stays successful', job({ succeeded: 1, conditions: [{ type: 'Complete', status: 'True' }] }), true, { status: 'successful' }],
    ['deleted after failure stays failed', job({ conditions: [{ type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded' }] }), true, { status: 'failed' }],
  ];
  for (const [what, j, deleted, want] of cases) {
    const doc = jobStatusDocument(j, { deleted, now: NOW });
    t.match(doc, { jobID: 'abc', processID: 'hello', type: 'process', created: created.toISOString(), ...want }, what);
    if (want.status !== 'successful') t.equal(doc.progress, undefined, `${what}: no progress`);
  }
});

t.test('job id from the name when there is no identifier', async (t) => {
  const bare: V1Job = { metadata: { name: 'x-123' } };
  t.equal(jobStatusDocument(bare, { deleted: false, now: NOW, jobNamePrefix: 'x-' }).jobID, '123');
  t.equal(jobStatusDocument(bare, { deleted: false, now: NOW }).jobID, 'x-123', 'not our prefix: the name');
  t.equal(jobStatusDocument(bare, { deleted: false, now: NOW }).updated, NOW.toISOString());
  t.equal(jobStatusDocument(bare, { deleted: false, now: NOW }).processID, undefined);
});

t.test('jobFinished', async (t) => {
  t.equal(jobFinished(job({ active: 1 })), false);
  t.equal(jobFinished(job({ conditions: [{ type: 'Complete', status: 'True' }] })), true);
  t.equal(jobFinished(job({ conditions: [{ type: 'FailureTarget', status: 'True' }] })), true);
  t.equal(jobFinished(job({ conditions: [{ type: 'Failed', status: 'False' }], active: 1 })), false);
  t.equal(jobFinished(job({ active: 1 }, { 'pygeoapi.io/dismissed': 'now' })), true);
});
