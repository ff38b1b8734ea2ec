import { inspect } from 'node:util';
import t from 'tap';
import {
  ConfigError,
  environmentMarkdown,
  ENVIRONMENT_VARIABLES,
  readSettings,
  REDACTED,
  type Env,
} from '../../lib/config/index.js';

const V = 'PYGEOAPI_K8S_MANAGER_';

function problemsOf(env: Env): string[] {
  try {
    readSettings(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

t.test('defaults', async (t) => {
  const settings = readSettings({});
  t.same(JSON.parse(JSON.stringify(settings)), {
    jobNamePrefix: 'pygeoapi-job-',
    podSecurityContext: { seccompProfile: { type: 'RuntimeDefault' } },
    containerSecurityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
    defaultTtlSecondsAfterFinished: 604800,
    syncExecutionTimeoutSeconds: 300,
    finalizerGiveUpSeconds: 604800,
    logArchiveLayout: 'per-container',
    controllerPartSizeMib: 8,
    controllerStandbyCapture: true,
    defaultActiveDeadlineSeconds: 86400,
    history: { cacheEntries: 100000, recordCacheBytes: 16777216 },
    bucket: { pathPrefix: '', region: 'us-east-1', forcePathStyle: false, checksums: 'WHEN_SUPPORTED' },
    auth: {
      mode: 'kubernetes',
      publicDiscovery: true,
      cacheSeconds: 10,
      ownerCheck: true,
      oidc: { usernameClaim: 'sub', rolesClaim: 'groups', operatorRoles: [], userRoles: [], clockSkewSeconds: 30 },
    },
    callbacks: { allow: [], httpsOnly: false, maxAttempts: 12, retryHorizonSeconds: 86400, timeoutSeconds: 10 },
    limits: { maxInputsBytes: 65536, requestsPerMinute: 600, maxActiveJobs: 500, maxActiveJobsPerPrincipal: 50 },
    jobControllerUsers: ['system:serviceaccount:kube-system:job-controller', 'system:kube-controller-manager'],
    secrets: {},
  });
  t.equal(readSettings({ [`${V}DEFAULT_ACTIVE_DEADLINE_SECONDS`]: '0' }).defaultActiveDeadlineSeconds, undefined, '0: no deadline');
  t.equal(settings.namespace, undefined);
  t.not(readSettings({}).podSecurityContext, settings.podSecurityContext, 'each read gets its own baseline object');
});

t.test('callback and limit variables: bad values named', async (t) => {
  t.match(problemsOf({ [`${V}CALLBACK_ALLOW`]: 'ok.example,10.0.0.0/99' }), [/PYGEOAPI_K8S_MANAGER_CALLBACK_ALLOW: "10\.0\.0\.0\/99" is not a CIDR/]);
  t.match(problemsOf({ [`${V}CALLBACK_MAX_ATTEMPTS`]: '0' }), [/CALLBACK_MAX_ATTEMPTS: must be at least 1/]);
  t.match(problemsOf({ [`${V}MAX_INPUTS_BYTES`]: 'lots' }), [/MAX_INPUTS_BYTES: must be a whole number/]);
  t.same(readSettings({ [`${V}CALLBACK_ALLOW`]: 'receiver.tools.svc, 10.8.0.0/16' }).callbacks.allow.length, 2);
});

t.test('the Job controller users: a list, never empty', async (t) => {
  t.same(readSettings({ [`${V}JOB_CONTROLLER_USERS`]: ' system:kube-controller-manager , x ' }).jobControllerUsers, ['system:kube-controller-manager', 'x']);
  t.match(problemsOf({ [`${V}JOB_CONTROLLER_USERS`]: ' , ' }), [/PYGEOAPI_K8S_MANAGER_JOB_CONTROLLER_USERS: must name at least one user/]);
});

t.test('every variable read', async (t) => {
  const settings = readSettings({
    PYGEOAPI_CONFIG: '/etc/pygeoapi/config.yml',
    [`${V}NAMESPACE`]: 'jobs',
    [`${V}API_TOKEN`]: 'token-1',
    [`${V}JOB_NAME_PREFIX`]: 'geo-',
    [`${V}JOB_POD_SECURITY_CONTEXT`]: '{"runAsNonRoot": true, "runAsUser": 1000}',
    [`${V}JOB_CONTAINER_SECURITY_CONTEXT`]: 'off',
    [`${V}DEFAULT_TTL_SECONDS_AFTER_FINISHED`]: '3600',
    [`${V}DEFAULT_ACTIVE_DEADLINE_SECONDS`]: '7200',
    [`${V}SYNC_EXECUTION_TIMEOUT_SECONDS`]: '60',
    [`${V}FINALIZER_BUCKET_ENDPOINT`]: 'http://minio:9000',
    [`${V}FINALIZER_BUCKET_KEY`]: 'key-id',
    [`${V}FINALIZER_BUCKET_SECRET`]: 'secret-1',
    [`${V}FINALIZER_BUCKET_NAME`]: 'logs',
    [`${V}FINALIZER_BUCKET_PATH_PREFIX`]: 'k8s/logs',
    [`${V}FINALIZER_BUCKET_REGION`]: 'eu-de',
    [`${V}FINALIZER_BUCKET_FORCE_PATH_STYLE`]: 'false',
    [`${V}FINALIZER_BUCKET_CHECKSUMS`]: 'when_supported',
    [`${V}JOB_CONTROLLER_USERS`]: 'system:kube-controller-manager',
    [`${V}LOG_ARCHIVE_LAYOUT`]: 'python',
    [`${V}FINALIZER_GIVE_UP_SECONDS`]: '0',
    [`${V}CONTROLLER_PART_SIZE_MIB`]: '16',
    [`${V}CONTROLLER_STANDBY_CAPTURE`]: 'off',
    [`${V}CALLBACK_ALLOW`]: 'receiver.tools.svc,10.8.0.0/16',
    [`${V}CALLBACK_HTTPS_ONLY`]: 'true',
    [`${V}CALLBACK_MAX_ATTEMPTS`]: '3',
    [`${V}CALLBACK_RETRY_HORIZON_SECONDS`]: '600',
    [`${V}CALLBACK_TIMEOUT_SECONDS`]: '4',
    [`${V}MAX_INPUTS_BYTES`]: '1000',
    [`${V}RATE_LIMIT_PER_MINUTE`]: '0',
    [`${V}MAX_ACTIVE_JOBS`]: '7',
    [`${V}MAX_ACTIVE_JOBS_PER_PRINCIPAL`]: '2',
    [`${V}HISTORY_CACHE_ENTRIES`]: '5000',
    [`${V}HISTORY_RECORD_CACHE_BYTES`]: '0',
  });
  t.same(JSON.parse(JSON.stringify(settings)), {
    configPath: '/etc/pygeoapi/config.yml',
    namespace: 'jobs',
    jobNamePrefix: 'geo-',
    podSecurityContext: { runAsNonRoot: true, runAsUser: 1000 },
    containerSecurityContext: null,
    defaultTtlSecondsAfterFinished: 3600,
    defaultActiveDeadlineSeconds: 7200,
    syncExecutionTimeoutSeconds: 60,
    finalizerGiveUpSeconds: 0,
    logArchiveLayout: 'python',
    controllerPartSizeMib: 16,
    controllerStandbyCapture: false,
    history: { cacheEntries: 5000, recordCacheBytes: 0 },
    bucket: {
      endpoint: 'http://minio:9000',
      accessKeyId: 'key-id',
      name: 'logs',
      pathPrefix: 'k8s/logs/',
      region: 'eu-de',
      forcePathStyle: false,
      checksums: 'WHEN_SUPPORTED',
    },
    auth: {
      mode: 'kubernetes',
      publicDiscovery: true,
      cacheSeconds: 10,
      ownerCheck: true,
      oidc: { usernameClaim: 'sub', rolesClaim: 'groups', operatorRoles: [], userRoles: [], clockSkewSeconds: 30 },
    },
    callbacks: {
      allow: [{ host: 'receiver.tools.svc' }, { network: { family: 4, bytes: [10, 8, 0, 0] }, length: 16 }],
      httpsOnly: true,
      maxAttempts: 3,
      retryHorizonSeconds: 600,
      timeoutSeconds: 4,
    },
    limits: { maxInputsBytes: 1000, requestsPerMinute: 0, maxActiveJobs: 7, maxActiveJobsPerPrincipal: 2 },
    jobControllerUsers: ['system:kube-controller-manager'],
    secrets: { apiToken: REDACTED, bucketSecret: REDACTED },
  });
  t.equal(settings.secrets.apiToken, 'token-1', 'code can read the token');
  t.equal(settings.secrets.bucketSecret, 'secret-1');
});

t.test('values that depend on others and special spellings', async (t) => {
  const cases: Array<[string, Env, (s: ReturnType<typeof readSettings>) => unknown, unknown]> = [
    ['custom endpoint: path style', { [`${V}FINALIZER_BUCKET_ENDPOINT`]: 'https://s3.example.org' }, (s) => s.bucket.forcePathStyle, true],
    ['custom endpoint: checksums when required', { [`${V}FINALIZER_BUCKET_ENDPOINT`]: 'https://s3.example.org' }, (s) => s.bucket.checksums, 'WHEN_REQUIRED'],
    ['path prefix with slash kept', { [`${V}FINALIZER_BUCKET_PATH_PREFIX`]: 'logs/' }, (s) => s.bucket.pathPrefix, 'logs/'],
    ['blank means unset', { [`${V}DEFAULT_TTL_SECONDS_AFTER_FINISHED`]: '  ' }, (s) => s.defaultTtlSecondsAfterFinished, 604800],
    ['deadline 0 means none', { [`${V}DEFAULT_ACTIVE_DEADLINE_SECONDS`]: '0' }, (s) => s.defaultActiveDeadlineSeconds, undefined],
    ['security context none', { [`${V}JOB_POD_SECURITY_CONTEXT`]: 'None' }, (s) => s.podSecurityContext, null],
    ['path style yes', { [`${V}FINALIZER_BUCKET_FORCE_PATH_STYLE`]: 'yes' }, (s) => s.bucket.forcePathStyle, true],
    ['blank token is no token', { [`${V}API_TOKEN`]: '' }, (s) => s.secrets.apiToken, undefined],
    ['token kept exactly', { [`${V}API_TOKEN`]: ' t ' }, (s) => s.secrets.apiToken, ' t '],
  ];
  for (const [what, env, pick, want] of cases) t.same(pick(readSettings(env)), want, what);
});

t.test('bad values name the variable', async (t) => {
  const cases: Array<[Env, string]> = [
    [{ [`${V}DEFAULT_TTL_SECONDS_AFTER_FINISHED`]: '7d' }, `${V}DEFAULT_TTL_SECONDS_AFTER_FINISHED: must be a whole number of seconds (got "7d")`],
    [{ [`${V}DEFAULT_ACTIVE_DEADLINE_SECONDS`]: '-1' }, `${V}DEFAULT_ACTIVE_DEADLINE_SECONDS: must be a whole number of seconds (got "-1")`],
    [{ [`${V}SYNC_EXECUTION_TIMEOUT_SECONDS`]: '0' }, `${V}SYNC_EXECUTION_TIMEOUT_SECONDS: must be at least 1 (got "0")`],
    [{ [`${V}FINALIZER_GIVE_UP_SECONDS`]: '1.5' }, `${V}FINALIZER_GIVE_UP_SECONDS: must be a whole number of seconds (got "1.5")`],
    [{ [`${V}LOG_ARCHIVE_LAYOUT`]: 'single' }, `${V}LOG_ARCHIVE_LAYOUT: must be one of per-container, python (got "single")`],
    [{ [`${V}HISTORY_CACHE_ENTRIES`]: '10' }, `${V}HISTORY_CACHE_ENTRIES: must be at least 1000 (got "10")`],
    [{ [`${V}HISTORY_RECORD_CACHE_BYTES`]: '16MB' }, `${V}HISTORY_RECORD_CACHE_BYTES: must be a whole number (got "16MB")`],
    [{ [`${V}FINALIZER_BUCKET_CHECKSUMS`]: 'ALWAYS' }, `${V}FINALIZER_BUCKET_CHECKSUMS: must be one of WHEN_REQUIRED, WHEN_SUPPORTED (got "ALWAYS")`],
    [{ [`${V}FINALIZER_BUCKET_FORCE_PATH_STYLE`]: 'sometimes' }, `${V}FINALIZER_BUCKET_FORCE_PATH_STYLE: must be true or false (got "sometimes")`],
    [{ [`${V}FINALIZER_BUCKET_ENDPOINT`]: 'minio:9000' }, `${V}FINALIZER_BUCKET_ENDPOINT: must be an http(s) URL (got "minio:9000")`],
    [
      { [`${V}JOB_NAME_PREFIX`]: 'Jobs_' },
      `${V}JOB_NAME_PREFIX: must be lower-case letters, digits and "-", starting with a letter or digit (got "Jobs_")`,
    ],
    [
      { [`${V}JOB_NAME_PREFIX`]: `${'x'.repeat(28)}-` },
      `${V}JOB_NAME_PREFIX: must have at most 27 characters so that job names stay within 63 (got "${'x'.repeat(28)}-")`,
    ],
    [
      { [`${V}JOB_POD_SECURITY_CONTEXT`]: '{runAsUser: 1000}' },
      `${V}JOB_POD_SECURITY_CONTEXT: must be a JSON object (Kubernetes securityContext field names), "off" or "none" (got "{runAsUser: 1000}")`,
    ],
    [{ [`${V}JOB_POD_SECURITY_CONTEXT`]: '[1]' }, `${V}JOB_POD_SECURITY_CONTEXT: must be a JSON object, "off" or "none" (got "[1]")`],
    [
      { [`${V}JOB_POD_SECURITY_CONTEXT`]: '{"runAsUser": "1000"}' },
      `${V}JOB_POD_SECURITY_CONTEXT: runAsUser: must be a whole number (got "{\\"runAsUser\\": \\"1000\\"}")`,
    ],
    [
      { [`${V}JOB_CONTAINER_SECURITY_CONTEXT`]: '{"allow_privilege_escalation": false}' },
      `${V}JOB_CONTAINER_SECURITY_CONTEXT: allow_privilege_escalation: unknown field (got "{\\"allow_privilege_escalation\\": false}")`,
    ],
  ];
  for (const [env, problem] of cases) t.same(problemsOf(env), [problem], Object.keys(env)[0]);
  t.same(
    problemsOf({ [`${V}SYNC_EXECUTION_TIMEOUT_SECONDS`]: 'x', [`${V}LOG_ARCHIVE_LAYOUT`]: 'x' }).length,
    2,
    'every bad variable is reported at once',
  );
});

t.test('secrets never leak into logs', async (t) => {
  const settings = readSettings({ [`${V}API_TOKEN`]: 'hunter2', [`${V}FINALIZER_BUCKET_SECRET`]: 's3cr3t' });
  for (const [how, text] of [
    ['JSON', JSON.stringify(settings)],
    ['inspect', inspect(settings, { depth: 10 })],
    ['inspect secrets', inspect(settings.secrets)],
    ['template', `${JSON.stringify({ settings })}`],
  ] as const) {
    t.notMatch(text, /hunter2|s3cr3t/, how);
    t.match(text, REDACTED, how);
  }
  t.throws(() => {
    (settings.secrets as { apiToken?: string }).apiToken = 'changed';
  }, 'secrets are read-only');
});

t.test('the table documents every variable once', async (t) => {
  const names = ENVIRONMENT_VARIABLES.map((v) => v.name);
  t.equal(new Set(names).size, names.length, 'no duplicates');
  // The Python manager's README variables, and ours from the issue.
  const expected = [
    'PYGEOAPI_CONFIG',
    `${V}NAMESPACE`,
    `${V}API_TOKEN`,
    `${V}JOB_NAME_PREFIX`,
    `${V}JOB_POD_SECURITY_CONTEXT`,
    `${V}JOB_CONTAINER_SECURITY_CONTEXT`,
    `${V}FINALIZER_BUCKET_ENDPOINT`,
    `${V}FINALIZER_BUCKET_KEY`,
    `${V}FINALIZER_BUCKET_SECRET`,
    `${V}FINALIZER_BUCKET_NAME`,
    `${V}FINALIZER_BUCKET_PATH_PREFIX`,
    `${V}FINALIZER_BUCKET_REGION`,
    `${V}FINALIZER_BUCKET_FORCE_PATH_STYLE`,
    `${V}FINALIZER_BUCKET_CHECKSUMS`,
    `${V}LOG_ARCHIVE_LAYOUT`,
    `${V}DEFAULT_TTL_SECONDS_AFTER_FINISHED`,
    `${V}DEFAULT_ACTIVE_DEADLINE_SECONDS`,
    `${V}SYNC_EXECUTION_TIMEOUT_SECONDS`,
    `${V}FINALIZER_GIVE_UP_SECONDS`,
    `${V}CONTROLLER_SPOOL_DIR`,
    `${V}CONTROLLER_STANDBY_CAPTURE`,
    `${V}CONTROLLER_PART_SIZE_MIB`,
    `${V}AUTH_MODE`,
    `${V}AUTH_TOKENS`,
    `${V}AUTH_PUBLIC_DISCOVERY`,
    `${V}AUTH_CACHE_SECONDS`,
    `${V}AUTH_OWNER_CHECK`,
    `${V}OIDC_ISSUER`,
    `${V}OIDC_AUDIENCE`,
    `${V}OIDC_JWKS_URI`,
    `${V}OIDC_USERNAME_CLAIM`,
    `${V}OIDC_ROLES_CLAIM`,
    `${V}OIDC_OPERATOR_ROLES`,
    `${V}OIDC_USER_ROLES`,
    `${V}OIDC_CLOCK_SKEW_SECONDS`,
    `${V}TRUSTED_JOB_CREATORS`,
    `${V}JOB_CONTROLLER_USERS`,
    `${V}CALLBACK_ALLOW`,
    `${V}CALLBACK_HTTPS_ONLY`,
    `${V}CALLBACK_MAX_ATTEMPTS`,
    `${V}CALLBACK_RETRY_HORIZON_SECONDS`,
    `${V}CALLBACK_TIMEOUT_SECONDS`,
    `${V}MAX_INPUTS_BYTES`,
    `${V}RATE_LIMIT_PER_MINUTE`,
    `${V}MAX_ACTIVE_JOBS`,
    `${V}MAX_ACTIVE_JOBS_PER_PRINCIPAL`,
    `${V}HISTORY_CACHE_ENTRIES`,
    `${V}HISTORY_RECORD_CACHE_BYTES`,
  ];
  t.same([...names].sort(), [...expected].sort());
  t.same(
    ENVIRONMENT_VARIABLES.filter((v) => v.secret).map((v) => v.name),
    [`${V}API_TOKEN`, `${V}FINALIZER_BUCKET_SECRET`, `${V}AUTH_TOKENS`],
    'the secrets',
  );

  const markdown = environmentMarkdown();
  const rows = markdown.split('\n');
  t.equal(rows[0], '| Variable | Default | Secret | Origin | Description |');
  t.equal(rows.length, names.length + 2, 'header, rule, one row per variable');
  for (const variable of ENVIRONMENT_VARIABLES) {
    const row = rows.find((r) => r.startsWith(`| \`${variable.name}\` |`));
    t.ok(row, `${variable.name} has a row`);
    t.match(row, `| ${variable.secret ? 'yes' : 'no'} |`, `${variable.name} secret column`);
  }
  t.match(markdown, '| `PYGEOAPI_K8S_MANAGER_DEFAULT_TTL_SECONDS_AFTER_FINISHED` | `604800` |', 'literal defaults in code style');
});
