import t from 'tap';
import { ANNOTATIONS } from '../../lib/contract.js';
import { recordedResultsRequest, responseMode, resultsRequestOf } from '../../lib/results-request.js';

t.test('the response mode: raw unless the document is asked for (OGC 1.0 default)', async (t) => {
  const rows: Array<[unknown, string]> = [
    [undefined, 'raw'],
    ['raw', 'raw'],
    ['document', 'document'],
    ['Document', 'raw'],
    ['', 'raw'],
    [42, 'raw'],
  ];
  for (const [given, want] of rows) t.equal(responseMode(given), want, JSON.stringify(given) ?? 'absent');
});

t.test("the results request from a Job's annotations (anyone's to edit with kubectl)", async (t) => {
  const rows: Array<[string, Record<string, string> | undefined, unknown]> = [
    ['no annotations: raw, all outputs', undefined, { response: 'raw' }],
    ['document with outputs', { [ANNOTATIONS.response]: 'document', [ANNOTATIONS.outputs]: '["a","b"]' }, { response: 'document', outputs: ['a', 'b'] }],
    ['outputs not JSON: all outputs', { [ANNOTATIONS.outputs]: '[a' }, { response: 'raw' }],
    ['outputs not strings: all outputs', { [ANNOTATIONS.outputs]: '[1,2]' }, { response: 'raw' }],
    ['outputs an object: all outputs', { [ANNOTATIONS.outputs]: '{"a":1}' }, { response: 'raw' }],
    ['unknown mode: raw', { [ANNOTATIONS.response]: 'xml' }, { response: 'raw' }],
  ];
  for (const [name, annotations, want] of rows) t.same(resultsRequestOf(annotations), want, name);
});

t.test('the results request read back from a job record of any version', async (t) => {
  const rows: Array<[string, unknown, unknown]> = [
    ['older record without one', undefined, { response: 'raw' }],
    ['document with outputs', { response: 'document', outputs: ['a'] }, { response: 'document', outputs: ['a'] }],
    ['garbage', 'document', { response: 'raw' }],
    ['bad outputs dropped', { response: 'document', outputs: [1] }, { response: 'document' }],
  ];
  for (const [name, value, want] of rows) t.same(recordedResultsRequest(value), want, name);
});
