import { execFileSync, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { stringify } from 'yaml';
import { echoCommand, helloWorldCommand } from '../../lib/config/builtin-processes.js';
import {
  checkConfigFile,
  ConfigError,
  evaluateConfig,
  loadConfigFile,
  type Env,
  type ProcessDefinition,
} from '../../lib/config/index.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const FIXTURES = 'test/fixtures/config';
const TOKEN_ENV: Env = { PYGEOAPI_K8S_MANAGER_API_TOKEN: 'test-token' };

function processById(processes: ProcessDefinition[], id: string): ProcessDefinition {
  const found = processes.find((p) => p.id === id);
  if (found === undefined) throw new Error(`no process ${id}`);
  return found;
}

t.test('the shipped example loads with no error and no warning', async (t) => {
  const check = checkConfigFile(`${ROOT}pygeoapi-config.yaml`, TOKEN_ENV);
  t.same(check, { ok: true, errors: [], warnings: [] });

  const { config, warnings } = loadConfigFile(`${ROOT}pygeoapi-config.yaml`, TOKEN_ENV);
  t.same(warnings, []);
  t.same(
    config.processes.map((p) => [p.id, p.kind]),
    [
      ['hello-world-k8s', 'hello-world'],
      ['echo', 'echo'],
      ['generic-image-example', 'generic-image'],
    ],
  );
  t.same(config.server, {
    host: '0.0.0.0',
    port: 5000,
    url: 'http://localhost:5000',
    cors: true,
    limits: { defaultItems: 10, maxItems: 1000 },
    manager: { name: 'pygeoapi_k8s_manager.manager.KubernetesManager', finalizerController: true },
    identification: {
      title: { en: 'k8s-job-manager' },
      description: { en: 'Runs OGC API - Processes jobs as Kubernetes Jobs' },
    },
  });

  const generic = processById(config.processes, 'generic-image-example');
  t.same(generic.env, [
    { name: 'LOG_LEVEL', value: 'INFO' },
    { name: 'EXAMPLE_API_KEY', secretName: 'example-secret', secretKey: 'api-key' },
  ]);
  t.same(generic.storage, [
    { name: 'data', mountPath: '/data', persistentVolumeClaimName: 'example-data' },
    { name: 'scratch', mountPath: '/scratch', emptyDir: { medium: 'Memory', sizeLimit: '100Mi' } },
  ]);
  t.same(generic.resources, { requests: { cpu: '100m', memory: '64Mi' }, limits: { cpu: '1', memory: '256Mi' } });
  t.same(generic.tolerations, [{ key: 'dedicated', operator: 'Equal', value: 'processing', effect: 'NoSchedule' }]);
  t.same(generic.nodeSelector, { 'kubernetes.io/os': 'linux' });
  t.same(generic.podSecurityContext, { runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: 'RuntimeDefault' } });
  t.equal(generic.containerSecurityContext?.readOnlyRootFilesystem, true);
  t.equal(generic.initContainers[0]?.name, 'prepare');
  t.same(generic.command, ['python3', '-c']);
  t.equal(generic.args?.length, 1);
  t.equal(generic.checkAuth, true);
  t.equal(generic.serviceAccount, 'default');
  t.same([generic.backoffLimit, generic.ttlSecondsAfterFinished, generic.activeDeadlineSeconds], [0, 86400, 3600]);
  t.equal(generic.mimetype, 'application/json');
  t.same(generic.metadata.jobControlOptions, ['sync-execute', 'async-execute', 'dismiss']);
  t.equal(generic.metadata.id, 'generic-image-example');
  t.equal(generic.metadata.version, '1.0.0');

  const echo = processById(config.processes, 'echo');
  t.equal(echo.ttlSecondsAfterFinished, 3600);
  t.equal(echo.checkAuth, false);
  t.same(Object.keys(echo.metadata.outputs), ['stringInput'], 'echo output ids equal its string input ids');
  t.same(echo.command?.slice(3), ['stringInput'], 'the echo program answers the declared outputs');
});

t.test('a configuration of the Python manager loads unchanged', async (t) => {
  const file = `${FIXTURES}/python-manager.yaml`;
  const { config, warnings } = loadConfigFile(file, TOKEN_ENV);
  t.same(warnings, [
    `${file}: resources.hello-world-k8s.processor.default_image: the built-in hello-world program runs with python3, which this image must provide`,
  ]);
  t.same(
    config.processes.map((p) => p.id),
    ['hello-world-k8s', 'hello-world-k8s-sleep', 'generic-image-processor-example'],
    'the collection is not a process',
  );
  t.equal(config.server.manager.finalizerController, true);
  t.same(config.server.limits, { defaultItems: 50, maxItems: 1000 });
  t.notOk('languages' in config.server || 'prettyPrint' in config.server, 'pygeoapi\'s languages and pretty_print validate but are not carried: the manager does not use them');

  const hello = processById(config.processes, 'hello-world-k8s');
  t.equal(hello.kind, 'hello-world');
  t.same(hello.imagePullSecrets, ['default-secret'], 'the singular spelling of the Python examples counts');
  t.same(hello.command?.slice(0, 5), ['/bin/sh', '-c', 'echo "hello world from k8s"; exec "$@"', 'hello-world-k8s', 'python3']);
  t.equal(hello.checkAuth, false);
  t.equal(hello.metadata.id, 'hello-world-k8s');

  const sleep = processById(config.processes, 'hello-world-k8s-sleep');
  t.equal(sleep.command?.[2], 'date; echo start and now sleeping 10s; sleep 10; exec "$@"');
  t.equal(sleep.metadata.id, 'hello-world-k8s-sleep', 'the process id, not the built-in one');

  const generic = processById(config.processes, 'generic-image-processor-example');
  t.equal(generic.metadata.version, '0.1', 'version: 0.1 is text');
  t.same(generic.metadata.jobControlOptions, ['async-execute'], "the Python processor's default");
  t.same(generic.metadata.title, { en: 'Generic Image Processor Example' });
  t.equal(generic.mimetype, 'application/json', "the single output's contentMediaType");
  t.same(generic.command, ['bash', '-c', 'date; env | sort']);
  t.same(generic.env, [
    { name: 'EXAMPLE_ENV_FROM_SECRET', secretName: 'example-secret-name', secretKey: 'example-secret-key' },
    { name: 'SIMPLE_ENV_BOOLEAN_AS_STRING', value: 'False' },
    { name: 'SIMPLE_ENV_BOOLEAN_AS_BOOLEAN', value: 'False' },
    { name: 'SIMPLE_ENV_STRING', value: 'simple-env-string' },
    { name: 'SIMPLE_ENV_INTEGER', value: '1024' },
    { name: 'SIMPLE_ENV_FLOAT', value: '1.0' },
  ]);
  t.same(generic.storage[1], { name: 'test-empty-dir-storage', mountPath: '/tmp/test-empty-dir-storage', emptyDir: {} });
  t.same(generic.initContainers[0]?.volumeMounts, [{ name: 'test-storage', mountPath: '/inputs/' }]);
  t.same(generic.podSecurityContext, { runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: 'RuntimeDefault' } });
  t.equal(generic.containerSecurityContext, undefined, 'null switches the context off');
  t.equal(generic.checkAuth, true);
});

t.test('YAML problems name file, line and column', async (t) => {
  const cases: Array<[string, string]> = [
    ['syntax-error', `${FIXTURES}/syntax-error.yaml:5:3: Flow sequence in block collection must be sufficiently indented and end with a ]`],
    [
      'undefined-variable',
      `${FIXTURES}/undefined-variable.yaml:4:11: environment variable K8S_JOB_MANAGER_TEST_PORT is not set ` +
        '(write ${K8S_JOB_MANAGER_TEST_PORT:-default} to give a default)',
    ],
    [
      'multiple-documents',
      `${FIXTURES}/multiple-documents.yaml:5:1: Source contains multiple documents; please use YAML.parseAllDocuments()`,
    ],
    ['empty', `${FIXTURES}/empty.yaml: is empty; a pygeoapi configuration has server: and resources:`],
    ['list', `${FIXTURES}/list.yaml: must be a mapping; a pygeoapi configuration has server: and resources:`],
    ['missing', `${FIXTURES}/missing.yaml: cannot be read (ENOENT)`],
  ];
  for (const [name, problem] of cases) {
    const file = `${FIXTURES}/${name}.yaml`;
    t.same(checkConfigFile(file, TOKEN_ENV), { ok: false, errors: [problem], warnings: [] }, name);
    t.throws(() => loadConfigFile(file, TOKEN_ENV), { name: 'ConfigError', problems: [problem] }, `${name} throws`);
  }
});

t.test('alias bombs are refused', async (t) => {
  const yaml = [
    'a: &a [x, x, x, x, x, x, x, x, x, x]',
    'b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]',
    'c: [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]',
  ].join('\n');
  t.same(evaluateConfig(yaml, 'c.yaml', {}).errors, ['c.yaml: Excessive alias count indicates a resource exhaustion attack']);
});

t.test('duplicate keys: the last wins, with a warning', async (t) => {
  const file = `${FIXTURES}/duplicate-key.yaml`;
  const { config, warnings } = loadConfigFile(file, TOKEN_ENV);
  t.same(warnings, [`${file}:12:7: duplicate key "check_auth"; the last one is used`]);
  t.equal(config.processes[0]?.checkAuth, true);
});

t.test("pygeoapi's environment references", async (t) => {
  const file = `${FIXTURES}/environment-references.yaml`;
  const { config } = loadConfigFile(file, { BIND_PORT: '8080', PUBLIC_HOST: 'geo.example.org' });
  t.equal(config.server.host, '0.0.0.0', 'default used');
  t.equal(config.server.port, 8080, 'a substituted number is a number');
  t.equal(config.server.url, 'http://geo.example.org:8080/api', 'several references in one value; trailing slash dropped');
  t.equal(config.processes[0]?.image, '${NOT_SUBSTITUTED}', 'quoted values are not substituted');
  t.equal(config.processes[0]?.ttlSecondsAfterFinished, 60);
  const overridden = loadConfigFile(file, { BIND_PORT: '1', PUBLIC_HOST: 'h', BIND_HOST: '127.0.0.1', ECHO_TTL: '5' });
  t.equal(overridden.config.server.host, '127.0.0.1', 'set variable wins over default');
  t.equal(overridden.config.processes[0]?.ttlSecondsAfterFinished, 5);
  t.same(
    checkConfigFile(file, { BIND_PORT: 'eighty', PUBLIC_HOST: 'h' }).errors,
    [`${file}: server.bind.port: must be a whole number`],
    'substituted values are validated',
  );
});

t.test('PyYAML (YAML 1.1) reading', async (t) => {
  const yaml = [
    'server: {bind: {host: h, port: 1}, url: "http://h"}',
    'resources:',
    '  p:',
    '    type: process',
    '    processor:',
    '      name: GenericImageProcessor',
    '      default_image: i',
    '      check_auth: no',
    '      metadata: {title: t, version: 2.10}',
    '      env:',
    '        - {name: A, value: on}',
    '        - {name: B, value: n}',
    '        - {name: C, value: 2024-01-31}',
    '        - {name: D, value: 0x1F}',
  ].join('\n');
  const { config, errors } = evaluateConfig(yaml, 'c.yaml', {});
  t.same(errors, []);
  const p = config?.processes[0];
  t.equal(p?.checkAuth, false, 'no is false');
  t.equal(p?.metadata.version, '2.10', 'version as written');
  t.same(p?.env, [
    { name: 'A', value: 'True' },
    { name: 'B', value: 'n' },
    { name: 'C', value: '2024-01-31' },
    { name: 'D', value: '0x1F' },
  ]);
});

t.test('lifetime and security contexts: processor, else environment', async (t) => {
  const doc = (processor: Record<string, unknown>): string =>
    stringify({
      server: { bind: { host: 'h', port: 1 }, url: 'http://h' },
      resources: { e: { type: 'process', processor: { name: 'Echo', ...processor } } },
    });
  const env: Env = {
    PYGEOAPI_K8S_MANAGER_DEFAULT_TTL_SECONDS_AFTER_FINISHED: '100',
    PYGEOAPI_K8S_MANAGER_DEFAULT_ACTIVE_DEADLINE_SECONDS: '200',
    PYGEOAPI_K8S_MANAGER_JOB_POD_SECURITY_CONTEXT: '{"runAsUser": 7}',
    PYGEOAPI_K8S_MANAGER_JOB_CONTAINER_SECURITY_CONTEXT: 'off',
  };
  const load = (processor: Record<string, unknown>, e: Env = env): ProcessDefinition | undefined =>
    evaluateConfig(doc(processor), 'c.yaml', e).config?.processes[0];

  const fromEnv = load({});
  t.same([fromEnv?.ttlSecondsAfterFinished, fromEnv?.activeDeadlineSeconds], [100, 200]);
  t.same(fromEnv?.podSecurityContext, { runAsUser: 7 });
  t.equal(fromEnv?.containerSecurityContext, undefined, 'off in the environment');

  const own = load({
    ttl_seconds_after_finished: 1,
    active_deadline_seconds: 2,
    pod_security_context: null,
    container_security_context: { privileged: false },
  });
  t.same([own?.ttlSecondsAfterFinished, own?.activeDeadlineSeconds], [1, 2]);
  t.equal(own?.podSecurityContext, undefined, 'null in the processor');
  t.same(own?.containerSecurityContext, { privileged: false });

  const empty = load({ tolerations: null, env: null });
  t.same(empty?.tolerations, [], 'an empty key is no key');
});

t.test('environment problems make loading fail', async (t) => {
  const error = t.throws(() =>
    loadConfigFile(`${ROOT}pygeoapi-config.yaml`, { ...TOKEN_ENV, PYGEOAPI_K8S_MANAGER_LOG_ARCHIVE_LAYOUT: 'zip' }),
  );
  t.ok(error instanceof ConfigError);
  t.same((error as ConfigError).problems, [
    'PYGEOAPI_K8S_MANAGER_LOG_ARCHIVE_LAYOUT: must be one of per-container, python (got "zip")',
  ]);
  t.match((error as ConfigError).message, /invalid configuration \(1 problem\):\n {2}- PYGEOAPI_K8S_MANAGER_LOG_ARCHIVE_LAYOUT/);
});

const hasPython = spawnSync('python3', ['--version']).status === 0;

t.test('the built-in programs read inputs only from the environment', { skip: !hasPython && 'python3 is not installed' }, async (t) => {
  const run = (argv: string[], inputs: unknown): string =>
    execFileSync(argv[0] ?? '', argv.slice(1), {
      env: { PATH: process.env.PATH, PYGEOAPI_K8S_MANAGER_INPUTS: JSON.stringify(inputs) },
    }).toString();
  const marker = 'PYGEOAPI_K8S_MANAGER_RESULT_MIMETYPE:application/json\nPYGEOAPI_K8S_MANAGER_RESULT_START\n';
  t.equal(
    run(helloWorldCommand([]), { name: `O'Brien"; $(touch /tmp/x)`, message: 'Hi' }),
    `${marker}{"result": "Hello 'O'Brien\\"; $(touch /tmp/x)': 'Hi'"}`,
    'shell characters in inputs stay text',
  );
  t.equal(run(helloWorldCommand([]), { name: 'World' }), `${marker}{"result": "Hello 'World'!"}`);
  t.equal(run(helloWorldCommand(['echo before']), { name: 'W' }), `before\n${marker}{"result": "Hello 'W'!"}`);
  t.equal(run(echoCommand(['stringInput']), { stringInput: 'abc', pause: 0, other: 1 }), `${marker}{"stringInput": "abc"}`);
});
