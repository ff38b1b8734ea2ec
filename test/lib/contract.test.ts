import t from 'tap';
import {
  ANNOTATIONS,
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
