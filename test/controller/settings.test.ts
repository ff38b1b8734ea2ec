import t from 'tap';
import { readSettings } from '../../lib/config/environment.js';
import { controllerSettingsFrom, DEFAULT_TUNING } from '../../controller/settings.js';

const FULL = {
  PYGEOAPI_K8S_MANAGER_FINALIZER_BUCKET_ENDPOINT: 'http://s3.local:9000',
  PYGEOAPI_K8S_MANAGER_FINALIZER_BUCKET_KEY: 'key',
  PYGEOAPI_K8S_MANAGER_FINALIZER_BUCKET_SECRET: 'secret',
  PYGEOAPI_K8S_MANAGER_FINALIZER_BUCKET_NAME: 'bucket',
  PYGEOAPI_K8S_MANAGER_FINALIZER_BUCKET_PATH_PREFIX: 'k8s/logs',
};

t.test('complete bucket configuration', async (t) => {
  const settings = controllerSettingsFrom(readSettings(FULL));
  t.same(settings.configurationErrors, []);
  t.same(settings.missingVariables, []);
  t.equal(settings.archive?.bucket.name, 'bucket');
  t.equal(settings.archive?.prefix, 'k8s/logs/', 'the prefix gets its trailing slash');
  t.equal(settings.archive?.bucket.forcePathStyle, true, 'path style for a custom endpoint');
  t.equal(settings.archive?.bucket.checksums, 'WHEN_REQUIRED', 'checksums only when required for a custom endpoint');
  t.equal(settings.archive?.secrets.bucketSecret, 'secret');
  t.notMatch(JSON.stringify(settings), /"secret"/, 'the secret never shows in JSON');
  t.equal(settings.layout, 'per-container');
  t.equal(settings.giveUpSeconds, 7 * 24 * 3600);
  t.equal(settings.jobNamePrefix, 'pygeoapi-job-');
  t.same(settings.leaderElection, DEFAULT_TUNING.leaderElection);
});

t.test('one error per missing variable, naming it; the archive is off', async (t) => {
  const cases: Array<[string[], string[]]> = [
    [['PYGEOAPI_K8S_MANAGER_FINALIZER_BUCKET_NAME'], ['PYGEOAPI_K8S_MANAGER_FINALIZER_BUCKET_NAME']],
    [
      ['PYGEOAPI_K8S_MANAGER_FINALIZER_BUCKET_KEY', 'PYGEOAPI_K8S_MANAGER_FINALIZER_BUCKET_SECRET'],
      ['PYGEOAPI_K8S_MANAGER_FINALIZER_BUCKET_KEY', 'PYGEOAPI_K8S_MANAGER_FINALIZER_BUCKET_SECRET'],
    ],
    // The endpoint is optional (AWS S3 by default) and so is the prefix.
    [Object.keys(FULL), Object.keys(FULL).filter((k) => !k.endsWith('PATH_PREFIX') && !k.endsWith('ENDPOINT'))],
  ];
  for (const [drop, missing] of cases) {
    const env = Object.fromEntries(Object.entries(FULL).filter(([k]) => !drop.includes(k)));
    const settings = controllerSettingsFrom(readSettings(env));
    t.equal(settings.archive, undefined, `without ${drop.join(', ')}: no archive`);
    t.same(settings.missingVariables, missing);
    t.equal(settings.configurationErrors.length, missing.length, 'one message each');
    missing.forEach((name, i) => t.match(settings.configurationErrors[i], new RegExp(`^${name} is not set`)));
  }
});

t.test('without an endpoint the archive goes to AWS S3', async (t) => {
  const env = Object.fromEntries(Object.entries(FULL).filter(([k]) => !k.endsWith('ENDPOINT')));
  const settings = controllerSettingsFrom(readSettings(env));
  t.same(settings.missingVariables, []);
  t.ok(settings.archive, 'the archive is on');
  t.equal(settings.archive?.bucket.endpoint, undefined, 'no custom endpoint');
});

t.test('layout, give-up and tuning', async (t) => {
  const settings = controllerSettingsFrom(
    readSettings({ ...FULL, PYGEOAPI_K8S_MANAGER_LOG_ARCHIVE_LAYOUT: 'python', PYGEOAPI_K8S_MANAGER_FINALIZER_GIVE_UP_SECONDS: '0' }),
    { workers: 2, leaderElection: { leaseName: 'x', leaseDurationSeconds: 4, renewDeadlineSeconds: 3, retryPeriodSeconds: 1 } },
  );
  t.equal(settings.layout, 'python');
  t.equal(settings.giveUpSeconds, 0);
  t.equal(settings.workers, 2);
  t.equal(settings.leaderElection.leaseName, 'x');
  t.same(settings.watch, DEFAULT_TUNING.watch, 'untouched groups keep their defaults');
  t.throws(() => controllerSettingsFrom(readSettings(FULL), { partSizeBytes: 1024 }), /at least 5242880/);
  t.throws(() => controllerSettingsFrom(readSettings(FULL), { uploadQueueSize: 0 }), /at least 1/);
});

t.test('the spool directory comes from PYGEOAPI_K8S_MANAGER_CONTROLLER_SPOOL_DIR and must be absolute', async (t) => {
  t.equal(controllerSettingsFrom(readSettings({ PYGEOAPI_K8S_MANAGER_CONTROLLER_SPOOL_DIR: '/var/spool/x' })).spoolDirectory, '/var/spool/x');
  t.equal(controllerSettingsFrom(readSettings({})).spoolDirectory, undefined, 'unset: a temp dir of the process');
  t.throws(() => readSettings({ PYGEOAPI_K8S_MANAGER_CONTROLLER_SPOOL_DIR: 'spool' }), /PYGEOAPI_K8S_MANAGER_CONTROLLER_SPOOL_DIR[\s\S]*absolute/);
});

t.test('the part size comes from PYGEOAPI_K8S_MANAGER_CONTROLLER_PART_SIZE_MIB, at least 5 MiB', async (t) => {
  t.equal(controllerSettingsFrom(readSettings({})).partSizeBytes, 8 * 1024 * 1024, 'default 8 MiB');
  t.equal(controllerSettingsFrom(readSettings({ PYGEOAPI_K8S_MANAGER_CONTROLLER_PART_SIZE_MIB: '16' })).partSizeBytes, 16 * 1024 * 1024);
  t.throws(() => readSettings({ PYGEOAPI_K8S_MANAGER_CONTROLLER_PART_SIZE_MIB: '4' }), /PYGEOAPI_K8S_MANAGER_CONTROLLER_PART_SIZE_MIB[\s\S]*at least 5/);
});
