/**
 * A succeeded pod's result, for its record: trusted only from current logs
 * read to their proven end. A succeeded pod whose log was lost was recorded
 * `successful` with no result (issue 15): its result is unknown, not absent.
 */
import t from 'tap';
import { resultLostReason, resultOutcome, statusWithResult, type LogState, type ResultInput, type ResultOutcome } from '../../controller/result-outcome.js';
import type { StatusInfo } from '../../lib/job-status.js';

const complete = (container = 'main'): LogState => ({ container, complete: true });
const gap = (container: string, reason: string, previous = false): LogState => ({ container, complete: false, incompleteReason: reason, ...(previous ? { previous } : {}) });
const value = { mimetype: 'application/json', value: '{"a": 1}' };

const cases: Array<{ name: string; input: ResultInput; want: ResultOutcome }> = [
  { name: 'complete log with a result: the result', input: { succeeded: true, logs: [complete()], found: value }, want: { result: value } },
  { name: 'complete log without a marker: printed no result, a success', input: { succeeded: true, logs: [complete()], found: undefined }, want: {} },
  {
    name: 'incomplete log with a result: the value may be cut short, lost',
    input: { succeeded: true, logs: [gap('main', 'gap: rotated')], found: value },
    want: { resultLost: 'main: gap: rotated' },
  },
  {
    name: 'incomplete log without a marker: the marker may be in what is missing, lost',
    input: { succeeded: true, logs: [gap('main', 'failed: the capture ended before the end of the log')], found: undefined },
    want: { resultLost: 'main: failed: the capture ended before the end of the log' },
  },
  {
    name: 'log lost entirely (0 bytes read), each incomplete log named',
    input: { succeeded: true, logs: [complete('prepare'), gap('main', 'gone: the container log was gone'), gap('side', 'unreadable: bad')], found: undefined },
    want: { resultLost: 'main: gone: the container log was gone; side: unreadable: bad' },
  },
  { name: 'no reason given: still named', input: { succeeded: true, logs: [{ container: 'main', complete: false }], found: undefined }, want: { resultLost: 'main: incomplete' } },
  {
    name: "only a restarted container's previous instance has a gap: the final instance is whole, the result is trusted",
    input: { succeeded: true, logs: [gap('main', 'restarts: restarted twice', true), complete()], found: value },
    want: { result: value },
  },
  { name: 'failed pod: no result, nothing lost', input: { succeeded: false, logs: [gap('main', 'gone: removed')], found: undefined }, want: {} },
  { name: 'failed pod with markers: still no result', input: { succeeded: false, logs: [complete()], found: value }, want: {} },
  {
    name: 'earlier complete logs kept: the result read from them stands',
    input: { succeeded: true, logs: [complete()], found: undefined, prior: { result: value } },
    want: { result: value },
  },
  {
    name: 'earlier complete logs kept, they held no result: none',
    input: { succeeded: true, logs: [complete()], found: undefined, prior: {} },
    want: {},
  },
  {
    name: 'earlier attempt lost the result: still lost',
    input: { succeeded: true, logs: [complete()], found: undefined, prior: { resultLost: 'main: gap: rotated' } },
    want: { resultLost: 'main: gap: rotated' },
  },
  {
    name: 'earlier record without a result, but a log still incomplete: lost, not an empty success',
    input: { succeeded: true, logs: [complete('prepare'), gap('main', 'gone: removed')], found: undefined, prior: {} },
    want: { resultLost: 'main: gone: removed' },
  },
];

t.test('resultOutcome', async (t) => {
  for (const c of cases) t.same(resultOutcome(c.input), c.want, c.name);
});

t.test('resultLostReason: only current logs count', async (t) => {
  t.equal(resultLostReason([]), undefined);
  t.equal(resultLostReason([complete()]), undefined);
  t.equal(resultLostReason([gap('main', 'gap: x', true), complete()]), undefined);
  t.equal(resultLostReason([gap('main', 'gap: x')]), 'main: gap: x');
});

t.test('statusWithResult: a lost result is a failure that says so', async (t) => {
  const ok: StatusInfo = { jobID: 'j', type: 'process', status: 'successful', message: 'Completed', progress: 100 };
  t.equal(statusWithResult(ok, undefined), ok, 'no loss: unchanged');
  const lost = statusWithResult(ok, 'main: gone: removed');
  t.equal(lost.status, 'failed');
  t.match(lost.message, /ended successfully, but its result was lost .*\(main: gone: removed\)/);
  t.equal(lost.jobID, 'j', 'the rest is kept');
});
