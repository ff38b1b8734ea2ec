import t from 'tap';
import {
  ANNOTATIONS,
  formatAnnotationTime,
  parseAnnotationTime,
  isManagedJob,
  isManagedPod,
  jobIdFromName,
  jobNameFor,
  LOG_FINALIZER,
  MANAGED_LABEL,
} from '../../lib/contract.js';

t.test('job names round-trip through the prefix', async (t) => {
  const cases: Array<[string, string | undefined, string]> = [
    ['abc', 'pygeoapi-job-', 'pygeoapi-job-abc'],
    ['x-1', 'p-', 'p-x-1'],
  ];
  for (const [id, prefix, name] of cases) {
    t.equal(jobNameFor(id, prefix), name);
    t.equal(jobIdFromName(name, prefix), id);
  }
  t.equal(jobIdFromName('other-job'), undefined, 'foreign names are not ours');
  t.equal(jobIdFromName('pygeoapi-job-'), undefined, 'the bare prefix has no id');
});

t.test('managed Jobs: label, or the Python manager prefix + identifier', async (t) => {
  const cases: Array<[string, Parameters<typeof isManagedJob>[0], boolean]> = [
    ['label', { name: 'x', labels: { [MANAGED_LABEL]: 'true' } }, true],
    ['label false', { name: 'x', labels: { [MANAGED_LABEL]: 'false' } }, false],
    ['python job', { name: 'pygeoapi-job-1', annotations: { [ANNOTATIONS.identifier]: '1' } }, true],
    ['prefix only', { name: 'pygeoapi-job-1' }, false],
    ['nothing', undefined, false],
  ];
  for (const [what, meta, want] of cases) t.equal(isManagedJob(meta), want, what);
});

t.test('managed pods: label, our finalizer, or a Python job name', async (t) => {
  const cases: Array<[string, Parameters<typeof isManagedPod>[0], boolean]> = [
    ['label', { labels: { [MANAGED_LABEL]: 'true' } }, true],
    ['finalizer', { finalizers: ['a', LOG_FINALIZER] }, true],
    ['job-name label', { labels: { 'job-name': 'pygeoapi-job-7' } }, true],
    ['batch job-name label', { labels: { 'batch.kubernetes.io/job-name': 'pygeoapi-job-7' } }, true],
    ['foreign job', { labels: { 'job-name': 'backup' } }, false],
  ];
  for (const [what, meta, want] of cases) t.equal(isManagedPod(meta), want, what);
});

t.test('started/updated annotations: one format written, old ones read back', async (t) => {
  const written: Array<[string, string]> = [
    ['2025-03-01T10:00:00.000Z', '2025-03-01T10:00:00.000000Z'],
    ['2025-12-31T23:59:59.999Z', '2025-12-31T23:59:59.999000Z'],
  ];
  for (const [given, want] of written) t.equal(formatAnnotationTime(new Date(given)), want, `${given} is written with microseconds`);

  const read: Array<[string, string | undefined, string | undefined]> = [
    ['microseconds (API, webhook, Python manager)', '2025-03-01T10:00:00.123456Z', '2025-03-01T10:00:00.123Z'],
    ['milliseconds (earlier webhooks)', '2025-03-01T10:00:00.123Z', '2025-03-01T10:00:00.123Z'],
    ['whole seconds', '2025-03-01T10:00:00Z', '2025-03-01T10:00:00.000Z'],
    ['an offset (isoformat)', '2025-03-01T12:00:00.5+02:00', '2025-03-01T10:00:00.500Z'],
    ['nanoseconds', '2025-03-01T10:00:00.123456789Z', '2025-03-01T10:00:00.123Z'],
    ['surrounding blanks', ' 2025-03-01T10:00:00.000000Z\n', '2025-03-01T10:00:00.000Z'],
    ['absent', undefined, undefined],
    ['a date only', '2025-03-01', undefined],
    ['no zone (local time is ambiguous)', '2025-03-01T10:00:00.123456', undefined],
    ['garbage', 'yesterday', undefined],
    ['an impossible date', '2025-13-45T10:00:00Z', undefined],
  ];
  for (const [what, text, want] of read) t.equal(parseAnnotationTime(text)?.toISOString(), want, what);
  for (const [given] of written) t.equal(parseAnnotationTime(formatAnnotationTime(new Date(given)))?.toISOString(), given, 'round trip');
});
