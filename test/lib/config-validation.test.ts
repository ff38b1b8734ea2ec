/**
 * One case per validation rule: a valid configuration with one thing changed,
 * and the exact errors and warnings it must give.
 */
import t from 'tap';
import { stringify } from 'yaml';
import { evaluateConfig } from '../../lib/config/index.js';

type Doc = Record<string, unknown>;

const FILE = 'pygeoapi-config.yaml';
const ENV = { PYGEOAPI_K8S_MANAGER_API_TOKEN: 'test-token' };
const P = `${FILE}: resources.my-proc.processor`;

interface Change {
  processor?: Doc;
  dropFromProcessor?: string[];
  server?: Doc;
  resources?: Doc;
}

/** A valid configuration with one GenericImageProcessor `my-proc`, changed as asked. */
function configWith(change: Change = {}): Doc {
  const processor: Doc = {
    name: 'GenericImageProcessor',
    default_image: 'busybox:1.37',
    metadata: { title: 'My process', inputs: {}, outputs: {} },
    ...change.processor,
  };
  for (const key of change.dropFromProcessor ?? []) delete processor[key];
  return {
    server: { bind: { host: '0.0.0.0', port: 5000 }, url: 'http://localhost:5000', ...change.server },
    resources: change.resources ?? { 'my-proc': { type: 'process', processor } },
  };
}

interface Asserts {
  same(found: unknown, wanted: unknown, ...message: [string]): boolean;
  equal(found: unknown, wanted: unknown, ...message: [string]): boolean;
}

function check(t: Asserts, doc: Doc, errors: string[], warnings: string[] = []): void {
  const result = evaluateConfig(stringify(doc), FILE, ENV);
  t.same(result.errors, errors, 'errors');
  t.same(result.warnings, warnings, 'warnings');
  t.equal(result.config === undefined, errors.length > 0, 'a config exactly when there are no errors');
}

t.test('the base configuration is valid', async (t) => check(t, configWith(), []));

t.test('errors', async (t) => {
  const cases: Array<[string, Doc, string[]]> = [
    // --- server
    ['server missing', { resources: configWith().resources }, [`${FILE}: server: required`]],
    ['resources missing', { server: configWith().server }, [`${FILE}: resources: required`]],
    ['port below 1', configWith({ server: { bind: { host: 'h', port: 0 } } }), [`${FILE}: server.bind.port: must be at least 1`]],
    ['port above 65535', configWith({ server: { bind: { host: 'h', port: 70000 } } }), [`${FILE}: server.bind.port: must be at most 65535`]],
    ['port not a number', configWith({ server: { bind: { host: 'h', port: 'http' } } }), [`${FILE}: server.bind.port: must be a whole number`]],
    ['port fractional', configWith({ server: { bind: { host: 'h', port: 80.5 } } }), [`${FILE}: server.bind.port: must be a whole number`]],
    ['host missing', configWith({ server: { bind: { port: 80 } } }), [`${FILE}: server.bind.host: required`]],
    ['host empty', configWith({ server: { bind: { host: '', port: 80 } } }), [`${FILE}: server.bind.host: must not be empty`]],
    [
      'url not http(s)',
      configWith({ server: { url: 'localhost:5000' } }),
      [`${FILE}: server.url: must be an absolute http(s) URL such as http://localhost:5000`],
    ],
    [
      'default_items above max_items',
      configWith({ server: { limits: { default_items: 100, max_items: 10 } } }),
      [`${FILE}: server.limits.default_items: must not be more than max_items (10)`],
    ],
    ['finalizer_controller not a flag', configWith({ server: { manager: { finalizer_controller: 'on please' } } }), [
      `${FILE}: server.manager.finalizer_controller: must be true or false`,
    ]],
    // --- resources and processor names
    ['resource without type', configWith({ resources: { ...(configWith().resources as Doc), x: { title: 'X' } } }), [
      `${FILE}: resources.x.type: required`,
    ]],
    ['process without processor', configWith({ resources: { x: { type: 'process' } } }), [
      `${FILE}: resources.x.processor: required`,
    ]],
    [
      'unknown processor name',
      configWith({ processor: { name: 'GenericImageProcesor' } }),
      [
        `${P}.name: must be GenericImageProcessor, HelloWorldK8sProcessor or Echo ` +
          '(or a Python name such as pygeoapi_k8s_manager.process.GenericImageProcessor)',
      ],
    ],
    [
      'process id not a label value',
      configWith({ resources: { 'my proc!': { type: 'process', processor: { name: 'Echo' } } } }),
      [
        `${FILE}: resources["my proc!"]: process id must be usable as a Kubernetes label value ` +
          '(at most 63 characters: letters, digits, "-", "_" or ".", starting and ending with a letter or digit)',
      ],
    ],
    [
      'process id too long',
      configWith({ resources: { ['p'.repeat(64)]: { type: 'process', processor: { name: 'Echo' } } } }),
      [
        `${FILE}: resources.${'p'.repeat(64)}: process id must be usable as a Kubernetes label value ` +
          '(at most 63 characters: letters, digits, "-", "_" or ".", starting and ending with a letter or digit)',
      ],
    ],
    // --- GenericImageProcessor keys
    ['default_image missing', configWith({ dropFromProcessor: ['default_image'] }), [`${P}.default_image: required`]],
    [
      'default_image with spaces',
      configWith({ processor: { default_image: 'busybox latest' } }),
      [`${P}.default_image: must be an image reference without spaces, e.g. python:3.13-alpine`],
    ],
    ['metadata missing', configWith({ dropFromProcessor: ['metadata'] }), [`${P}.metadata: required`]],
    ['command as a shell string', configWith({ processor: { command: 'echo hi' } }), [`${P}.command: must be a list`]],
    ['check_auth not a flag', configWith({ processor: { check_auth: 'maybe' } }), [`${P}.check_auth: must be true or false`]],
    [
      'image_pull_secret and image_pull_secrets',
      configWith({ processor: { image_pull_secret: 'a', image_pull_secrets: ['b'] } }),
      [`${P}: give image_pull_secret or image_pull_secrets, not both`],
    ],
    [
      'image pull secret not a name',
      configWith({ processor: { image_pull_secrets: ['Not_A_Name'] } }),
      [
        `${P}.image_pull_secrets: must be a Secret name or a list of them (at most 253 characters: ` +
          'lower-case letters, digits, "-" or ".", starting and ending with a letter or digit)',
      ],
    ],
    [
      'service account not a name',
      configWith({ processor: { service_account: 'Admin' } }),
      [
        `${P}.service_account: must be a ServiceAccount name: at most 253 characters: ` +
          'lower-case letters, digits, "-" or ".", starting and ending with a letter or digit',
      ],
    ],
    ['backoff_limit negative', configWith({ processor: { backoff_limit: -1 } }), [`${P}.backoff_limit: must be at least 0`]],
    ['ttl negative', configWith({ processor: { ttl_seconds_after_finished: -5 } }), [`${P}.ttl_seconds_after_finished: must be at least 0`]],
    ['deadline negative', configWith({ processor: { active_deadline_seconds: -1 } }), [`${P}.active_deadline_seconds: must be at least 0`]],
    ['href_inputs not a list', configWith({ processor: { href_inputs: 'a' } }), [`${P}.href_inputs: must be a list`]],
    // --- env
    ['env entry without name', configWith({ processor: { env: [{ value: 'x' }] } }), [`${P}.env[0].name: required`]],
    [
      'env name invalid',
      configWith({ processor: { env: [{ name: '1ST', value: 'x' }] } }),
      [`${P}.env[0].name: must be an environment variable name: letters, digits, "_", "-" or ".", not starting with a digit`],
    ],
    [
      'env entry with neither value nor secret',
      configWith({ processor: { env: [{ name: 'A' }] } }),
      [`${P}.env[0]: needs value, or secret_name and secret_key`],
    ],
    [
      'env entry with value and secret',
      configWith({ processor: { env: [{ name: 'A', value: 'x', secret_name: 's', secret_key: 'k' }] } }),
      [`${P}.env[0]: give either value or secret_name with secret_key, not both`],
    ],
    [
      'env secret_name without secret_key',
      configWith({ processor: { env: [{ name: 'A', secret_name: 's' }] } }),
      [`${P}.env[0]: secret_name needs secret_key`],
    ],
    [
      'env secret_key without secret_name',
      configWith({ processor: { env: [{ name: 'A', secret_key: 'k' }] } }),
      [`${P}.env[0]: secret_key needs secret_name`],
    ],
    [
      'env value null',
      configWith({ processor: { env: [{ name: 'A', value: null }] } }),
      [`${P}.env[0].value: must be a string, a number or true or false`],
    ],
    [
      'env name reserved for the manager',
      configWith({ processor: { env: [{ name: 'PYGEOAPI_K8S_MANAGER_INPUTS', value: '{}' }] } }),
      [`${P}.env[0].name: PYGEOAPI_K8S_MANAGER_INPUTS is set by the manager for every job`],
    ],
    // --- storage
    [
      'storage without a source',
      configWith({ processor: { storage: [{ name: 'data', mount_path: '/data' }] } }),
      [`${P}.storage[0]: needs one of persistent_volume_claim_name or empty_dir`],
    ],
    [
      'storage with both sources',
      configWith({
        processor: { storage: [{ name: 'data', mount_path: '/data', persistent_volume_claim_name: 'pvc', empty_dir: {} }] },
      }),
      [`${P}.storage[0]: needs only one of persistent_volume_claim_name or empty_dir, not both`],
    ],
    ['storage without mount_path', configWith({ processor: { storage: [{ name: 'data', empty_dir: {} }] } }), [
      `${P}.storage[0].mount_path: required`,
    ]],
    [
      'storage name not a volume name',
      configWith({ processor: { storage: [{ name: 'Data', mount_path: '/d', empty_dir: {} }] } }),
      [
        `${P}.storage[0].name: must be a volume name: at most 63 characters: ` +
          'lower-case letters, digits or "-", starting and ending with a letter or digit',
      ],
    ],
    [
      'storage names repeated',
      configWith({
        processor: {
          storage: [
            { name: 'data', mount_path: '/a', empty_dir: {} },
            { name: 'data', mount_path: '/b', empty_dir: {} },
          ],
        },
      }),
      [`${P}.storage[1].name: "data" is already used by storage[0]`],
    ],
    [
      'storage mount paths repeated',
      configWith({
        processor: {
          storage: [
            { name: 'a', mount_path: '/data', empty_dir: {} },
            { name: 'b', mount_path: '/data', empty_dir: {} },
          ],
        },
      }),
      [`${P}.storage[1].mount_path: "/data" is already used by storage[0]`],
    ],
    [
      'empty_dir medium unknown',
      configWith({ processor: { storage: [{ name: 'a', mount_path: '/a', empty_dir: { medium: 'Disk' } }] } }),
      [`${P}.storage[0].empty_dir.medium: must be "", "Memory" or "HugePages[-<size>]"`],
    ],
    // --- resources
    [
      'quantity malformed',
      configWith({ processor: { resources: { limits: { memory: '256 MB' } } } }),
      [`${P}.resources.limits.memory: must be a Kubernetes quantity such as 500m, 2, 256Mi or 1G`],
    ],
    [
      'quantity negative',
      configWith({ processor: { resources: { requests: { cpu: -1 } } } }),
      [`${P}.resources.requests.cpu: must be at least 0`],
    ],
    [
      'request above limit',
      configWith({ processor: { resources: { requests: { cpu: '2', memory: '1Gi' }, limits: { cpu: '1500m', memory: '2Gi' } } } }),
      [`${P}.resources.requests.cpu: 2 is more than the limit 1500m`],
    ],
    // --- tolerations, node selector
    [
      'toleration operator unknown',
      configWith({ processor: { tolerations: [{ key: 'k', operator: 'In' }] } }),
      [`${P}.tolerations[0].operator: must be one of "Exists", "Equal"`],
    ],
    [
      'toleration Exists with a value',
      configWith({ processor: { tolerations: [{ key: 'k', operator: 'Exists', value: 'v' }] } }),
      [`${P}.tolerations[0].value: must be empty when operator is Exists`],
    ],
    [
      'toleration_seconds without NoExecute',
      configWith({ processor: { tolerations: [{ key: 'k', effect: 'NoSchedule', toleration_seconds: 60 }] } }),
      [`${P}.tolerations[0].toleration_seconds: needs effect NoExecute`],
    ],
    [
      'node_selector key invalid',
      configWith({ processor: { node_selector: { 'bad key': 'x' } } }),
      [`${P}.node_selector["bad key"]: is not a valid label key (optional DNS prefix and "/", then a name of at most 63 characters)`],
    ],
    [
      'node_selector value not a text',
      configWith({ processor: { node_selector: { gpu: true } } }),
      [`${P}.node_selector.gpu: must be a string`],
    ],
    // --- Kubernetes objects passed through
    ['init container without image', configWith({ processor: { init_containers: [{ name: 'prep' }] } }), [
      `${P}.init_containers[0].image: required`,
    ]],
    [
      'init container field of the wrong type',
      configWith({ processor: { init_containers: [{ name: 'prep', image: 'busybox', command: 'echo hi' }] } }),
      [`${P}.init_containers[0].command: must be a list`],
    ],
    [
      'init container nested field missing',
      configWith({
        processor: { init_containers: [{ name: 'prep', image: 'busybox', env: [{ name: 'A', valueFrom: { secretKeyRef: { name: 's' } } }] }] },
      }),
      [`${P}.init_containers[0].env[0].valueFrom.secretKeyRef.key: required`],
    ],
    [
      'init container names repeated',
      configWith({
        processor: {
          init_containers: [
            { name: 'prep', image: 'busybox' },
            { name: 'prep', image: 'busybox' },
          ],
        },
      }),
      [`${P}.init_containers[1].name: "prep" is already used by init_containers[0]`],
    ],
    [
      'pod security context field of the wrong type',
      configWith({ processor: { pod_security_context: { runAsUser: 'root' } } }),
      [`${P}.pod_security_context.runAsUser: must be a whole number`],
    ],
    [
      'container security context not a mapping',
      configWith({ processor: { container_security_context: 'restricted' } }),
      [`${P}.container_security_context: must be a mapping or null`],
    ],
    [
      'affinity field of the wrong type',
      configWith({ processor: { affinity: { nodeAffinity: { preferredDuringSchedulingIgnoredDuringExecution: {} } } } }),
      [`${P}.affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution: must be a list`],
    ],
    // --- metadata
    [
      'jobControlOptions value unknown',
      configWith({ processor: { metadata: { jobControlOptions: ['async'] } } }),
      [`${P}.metadata.jobControlOptions[0]: must be one of "sync-execute", "async-execute", "dismiss"`],
    ],
    [
      'jobControlOptions empty',
      configWith({ processor: { metadata: { jobControlOptions: [] } } }),
      [`${P}.metadata.jobControlOptions: must have at least 1 entry`],
    ],
    [
      'title neither text nor translations',
      configWith({ processor: { metadata: { title: ['a'] } } }),
      [`${P}.metadata.title: must be a text, or a mapping of language to text`],
    ],
    [
      'maxOccurs invalid',
      configWith({ processor: { metadata: { inputs: { a: { schema: {}, maxOccurs: 0 } } } } }),
      [`${P}.metadata.inputs.a.maxOccurs: must be a whole number of at least 1, or "unbounded"`],
    ],
    [
      'minOccurs above maxOccurs',
      configWith({ processor: { metadata: { inputs: { a: { schema: {}, minOccurs: 2, maxOccurs: 1 } } } } }),
      [`${P}.metadata.inputs.a.minOccurs: must not be more than maxOccurs (1)`],
    ],
    ['link without href', configWith({ processor: { metadata: { links: [{ rel: 'about' }] } } }), [
      `${P}.metadata.links[0].href: required`,
    ]],
    // --- hello world
    [
      'hello-world command neither line nor lines',
      configWith({
        processor: { name: 'HelloWorldK8sProcessor', command: { run: 'x' } },
        dropFromProcessor: ['metadata', 'default_image'],
      }),
      [`${P}.command: must be a shell line or a list of shell lines`],
    ],
  ];
  for (const [title, doc, errors] of cases) await t.test(title, async (t) => check(t, doc, errors));
});

t.test('warnings (the configuration still loads)', async (t) => {
  const cases: Array<[string, Doc, string[], Doc?]> = [
    ['unknown processor key', configWith({ processor: { colour: 'blue' } }), [`${P}.colour: unknown key (ignored)`]],
    [
      'key of another processor',
      configWith({ processor: { name: 'Echo', env: [] }, dropFromProcessor: ['metadata', 'default_image'] }),
      [`${P}.env: unknown key (ignored)`],
    ],
    [
      'unknown env entry key',
      configWith({ processor: { env: [{ name: 'A', value: 'x', secret: 's' }] } }),
      [`${P}.env[0].secret: unknown key (ignored)`],
    ],
    [
      'Kubernetes spelling of a toleration key',
      configWith({ processor: { tolerations: [{ key: 'k', effect: 'NoExecute', tolerationSeconds: 5 }] } }),
      [`${P}.tolerations[0].tolerationSeconds: unknown key (ignored); did you mean toleration_seconds?`],
    ],
    [
      'snake_case field in a Kubernetes object',
      configWith({ processor: { init_containers: [{ name: 'prep', image: 'busybox', volume_mounts: [] }] } }),
      [`${P}.init_containers[0].volume_mounts: unknown key (ignored); did you mean volumeMounts?`],
    ],
    [
      'unknown field deep in a Kubernetes object',
      configWith({ processor: { pod_security_context: { seccompProfile: { type: 'RuntimeDefault', kind: 'x' } } } }),
      [`${P}.pod_security_context.seccompProfile.kind: unknown key (ignored)`],
    ],
    [
      'metadata id differs from the process id',
      configWith({ processor: { metadata: { id: 'other' } } }),
      [`${P}.metadata.id: "other" is not the process id "my-proc", which is used instead`],
    ],
    [
      'input without schema',
      configWith({ processor: { metadata: { inputs: { a: { title: 'A' } } } } }),
      [`${P}.metadata.inputs.a: has no schema, so any value is accepted`],
    ],
    [
      'env names repeated',
      configWith({ processor: { env: [{ name: 'A', value: '1' }, { name: 'A', value: '2' }] } }),
      [`${P}.env[1].name: "A" is already used by env[0]; the last one wins`],
    ],
    [
      'image for a built-in program',
      configWith({ processor: { name: 'HelloWorldK8sProcessor', default_image: 'busybox' }, dropFromProcessor: ['metadata'] }),
      [`${P}.default_image: the built-in hello-world program runs with python3, which this image must provide`],
    ],
    [
      'another manager',
      configWith({ server: { manager: { name: 'TinyDB' } } }),
      [`${FILE}: server.manager.name: "TinyDB" is not the Kubernetes manager; k8s-job-manager always runs processes as Kubernetes jobs`],
    ],
    [
      'no process at all',
      configWith({ resources: { obs: { type: 'collection', providers: [] } } }),
      [`${FILE}: resources: has no process (type: process), so no process is offered`],
    ],
  ];
  for (const [title, doc, warnings] of cases) await t.test(title, async (t) => check(t, doc, [], warnings));

  await t.test('token required but not configured', async (t) => {
    const result = evaluateConfig(stringify(configWith({ processor: { check_auth: true } })), FILE, {});
    t.same(result.errors, []);
    t.same(result.warnings, [
      `${FILE}: resources.my-proc: needs the input token (check_auth), but PYGEOAPI_K8S_MANAGER_API_TOKEN is not set: ` +
        'every execution will be refused',
    ]);
  });
});

t.test('all problems are reported at once', async (t) => {
  const doc = configWith({ processor: { env: [{ name: 'A' }], storage: [{ name: 'x', mount_path: '/x' }], colour: 1 } });
  const result = evaluateConfig(stringify(doc), FILE, { PYGEOAPI_K8S_MANAGER_DEFAULT_TTL_SECONDS_AFTER_FINISHED: 'a week' });
  t.same(result.errors, [
    'PYGEOAPI_K8S_MANAGER_DEFAULT_TTL_SECONDS_AFTER_FINISHED: must be a whole number of seconds (got "a week")',
    `${P}.env[0]: needs value, or secret_name and secret_key`,
    `${P}.storage[0]: needs one of persistent_volume_claim_name or empty_dir`,
  ]);
  t.same(result.warnings, [`${P}.colour: unknown key (ignored)`]);
});

t.test('other resource types are not looked into', async (t) => {
  const doc = configWith();
  (doc.resources as Doc).lakes = { type: 'collection', providers: [{ name: 'Anything', whatever: { deep: true } }] };
  check(t, doc, []);
});

t.test('processor names: ours and the Python class paths', async (t) => {
  const cases: Array<[string, string]> = [
    ['GenericImageProcessor', 'generic-image'],
    ['pygeoapi_k8s_manager.process.GenericImageProcessor', 'generic-image'],
    ['pygeoapi_k8s_manager.process.generic_image.GenericImageProcessor', 'generic-image'],
    ['pygeoapi_kubernetes_manager.process.GenericImageProcessor', 'generic-image'],
    ['pygeoapi_kubernetes_manager.process.generic_image.GenericImageProcessor', 'generic-image'],
    ['HelloWorldK8sProcessor', 'hello-world'],
    ['pygeoapi_k8s_manager.process.HelloWorldK8sProcessor', 'hello-world'],
    ['pygeoapi_k8s_manager.process.hello_world_k8s.HelloWorldK8sProcessor', 'hello-world'],
    ['pygeoapi_kubernetes_manager.process.HelloWorldK8sProcessor', 'hello-world'],
    ['pygeoapi_kubernetes_manager.process.hello_world_k8s.HelloWorldK8sProcessor', 'hello-world'],
    ['Echo', 'echo'],
  ];
  for (const [name, kind] of cases) {
    const drop = kind === 'generic-image' ? [] : ['metadata', 'default_image'];
    const result = evaluateConfig(stringify(configWith({ processor: { name }, dropFromProcessor: drop })), FILE, ENV);
    t.same([result.errors, result.warnings, result.config?.processes[0]?.kind], [[], [], kind], name);
  }
});
