import t from 'tap';
import type { JobRecord } from '../../lib/archive/layout.js';
import { mergeJobRecord, parseParameters, type PodArchive } from '../../lib/archive/job-record.js';
import type { StatusInfo } from '../../lib/job-status.js';

const status = (s: StatusInfo['status']): StatusInfo => ({ jobID: 'j', type: 'process', status: s, message: s, updated: '2026-01-01T00:00:00Z' });

function archive(pod: string, s: StatusInfo['status'], extra: Partial<PodArchive> = {}): PodArchive {
  return {
    pod,
    status: status(s),
    logs: [
      { pod, container: 'init', key: `k/${pod}/init.log`, bytes: 1 },
      { pod, container: 'main', key: `k/${pod}/main.previous.log`, bytes: 2, previous: true },
      { pod, container: 'main', key: `k/${pod}/main.log`, bytes: 3 },
    ],
    archivedAt: `at-${pod}`,
    ...extra,
  };
}

t.test('first archive makes the record', async (t) => {
  const record = mergeJobRecord(undefined, archive('p1', 'failed', { processId: 'hello', parameters: { a: 1 } }));
  t.same(record.status, status('failed'));
  t.equal(record.processId, 'hello');
  t.same(record.parameters, { a: 1 });
  t.equal(record.result, undefined);
  t.same(record.logs.map((l) => l.key), ['k/p1/init.log', 'k/p1/main.previous.log', 'k/p1/main.log'], "a pod's logs keep their order");
  t.equal(record.archivedAt, 'at-p1');
});

t.test('later pods merge in; a pod archived again replaces its entries', async (t) => {
  const first = mergeJobRecord(undefined, archive('p2', 'running', { processId: 'hello' }));
  const second = mergeJobRecord(first, archive('p1', 'successful', { result: { mimetype: 'text/plain', value: 'v' } }));
  t.same([...new Set(second.logs.map((l) => l.pod))], ['p1', 'p2'], 'sorted by pod');
  t.equal(second.logs.length, 6);
  t.same(second.result, { mimetype: 'text/plain', value: 'v' });
  t.equal(second.processId, 'hello', 'kept from the earlier archive');
  t.equal(second.status.status, 'successful');
  const again = mergeJobRecord(second, { ...archive('p1', 'successful'), logs: [{ pod: 'p1', container: 'main', key: 'k/p1/main.log', bytes: 9 }] });
  t.same(again.logs.filter((l) => l.pod === 'p1'), [{ pod: 'p1', container: 'main', key: 'k/p1/main.log', bytes: 9 }], 'no duplicates');
  t.same(again.result, { mimetype: 'text/plain', value: 'v' }, 'the result stays');
});

t.test('a final status is not turned back', async (t) => {
  const done: JobRecord = mergeJobRecord(undefined, archive('p2', 'failed'));
  t.equal(mergeJobRecord(done, archive('p1', 'running')).status.status, 'failed');
  t.equal(mergeJobRecord(done, archive('p1', 'dismissed')).status.status, 'dismissed', 'a final one may replace a final one');
  t.equal(mergeJobRecord(mergeJobRecord(undefined, archive('p1', 'running')), archive('p1', 'accepted')).status.status, 'accepted');
});

t.test('parseParameters', async (t) => {
  t.same(parseParameters('{"a": [1, 2]}'), { a: [1, 2] });
  t.equal(parseParameters('not json'), 'not json');
  t.equal(parseParameters(undefined), undefined);
});

t.test('the results request is kept from the Job that had one (a later stand-in has none)', async (t) => {
  const first = mergeJobRecord(undefined, archive('p1', 'running', { resultsRequest: { response: 'document', outputs: ['word'] } }));
  t.same(first.resultsRequest, { response: 'document', outputs: ['word'] });
  const later = mergeJobRecord(first, archive('p2', 'successful'));
  t.same(later.resultsRequest, { response: 'document', outputs: ['word'] }, 'kept');
  t.equal(mergeJobRecord(undefined, archive('p1', 'successful')).resultsRequest, undefined, 'none recorded: absent');
});
