/**
 * JSON schema of a pygeoapi configuration as far as k8s-job-manager reads it.
 *
 * - Keys pygeoapi has but we do not use (server.map, logging, metadata, …) are allowed.
 * - Resources other than `type: process` are not looked into.
 * - Processor blocks are closed (`additionalProperties: false`); the validator
 *   turns those findings into warnings, so unknown keys never stop start-up.
 * - `message` is an annotation: the text shown instead of ajv's generic one.
 * - Rules that relate several keys live in rules.ts, Kubernetes objects
 *   passed through unchanged are checked in kubernetes-objects.ts.
 */
import type { SchemaObject } from 'ajv';
import {
  DNS_LABEL_PATTERN,
  DNS_LABEL_RULE,
  DNS_SUBDOMAIN_PATTERN,
  DNS_SUBDOMAIN_RULE,
  ENV_NAME_PATTERN,
  LABEL_KEY_PATTERN,
  LABEL_VALUE_OR_EMPTY_PATTERN,
  QUANTITY_PATTERN,
  SECRET_KEY_PATTERN,
} from './kubernetes-syntax.js';
import { ALL_PROCESSOR_NAMES, PROCESSOR_NAMES } from './processors.js';

const text: SchemaObject = { type: 'string' };
const nonEmptyText: SchemaObject = { type: 'string', minLength: 1 };
const flag: SchemaObject = { type: 'boolean' };
const textList: SchemaObject = { type: 'array', items: text };

function matching(pattern: string, message: string): SchemaObject {
  return { type: 'string', pattern, message };
}

function wholeNumber(minimum: number): SchemaObject {
  return { type: 'integer', minimum };
}

const dnsLabel = (what: string): SchemaObject => matching(DNS_LABEL_PATTERN, `must be a ${what}: ${DNS_LABEL_RULE}`);
const dnsSubdomain = (what: string): SchemaObject =>
  matching(DNS_SUBDOMAIN_PATTERN, `must be a ${what}: ${DNS_SUBDOMAIN_RULE}`);

const localizedText: SchemaObject = {
  anyOf: [text, { type: 'object', additionalProperties: text }],
  message: 'must be a text, or a mapping of language to text',
};

const keywords: SchemaObject = {
  anyOf: [textList, { type: 'object', additionalProperties: textList }],
  message: 'must be a list of texts, or a mapping of language to a list of texts',
};

const quantity: SchemaObject = {
  type: ['string', 'number'],
  minimum: 0,
  pattern: QUANTITY_PATTERN,
  message: 'must be a Kubernetes quantity such as 500m, 2, 256Mi or 1G',
};

// ---------------------------------------------------------------- server

const server: SchemaObject = {
  type: 'object',
  required: ['bind', 'url'],
  properties: {
    bind: {
      type: 'object',
      required: ['host', 'port'],
      properties: {
        host: nonEmptyText,
        port: { type: 'integer', minimum: 1, maximum: 65535 },
      },
    },
    url: matching('^https?://\\S+$', 'must be an absolute http(s) URL such as http://localhost:5000'),
    language: text,
    languages: { type: 'array', items: text, minItems: 1 },
    pretty_print: flag,
    cors: {
      anyOf: [
        flag,
        {
          type: 'object',
          required: ['allow_origins'],
          additionalProperties: false,
          properties: {
            allow_origins: {
              type: 'array',
              minItems: 1,
              items: matching('^https?://[^/\\s*]+$', 'must be an origin such as https://app.example.org (scheme, host, port; no path, no *)'),
            },
            allow_methods: { type: 'array', items: { enum: ['GET', 'HEAD', 'POST', 'DELETE', 'get', 'head', 'post', 'delete'] } },
            allow_headers: { type: 'array', items: matching('^[A-Za-z0-9!#$%&\'*+.^_`|~-]+$', 'must be an HTTP header name') },
            allow_credentials: flag,
          },
        },
      ],
      message: 'must be true/false, or a mapping with allow_origins (a list of origins), allow_methods, allow_headers, allow_credentials',
    },
    // pygeoapi before 0.17 had one `limit`; later versions have `limits`.
    limit: wholeNumber(1),
    limits: {
      type: 'object',
      properties: { default_items: wholeNumber(1), max_items: wholeNumber(1) },
    },
    manager: {
      type: 'object',
      properties: { name: text, finalizer_controller: flag },
    },
  },
};

// ---------------------------------------------------------------- process metadata (OGC process description)

const parameter: SchemaObject = {
  type: 'object',
  properties: {
    title: localizedText,
    description: localizedText,
    keywords,
    schema: { type: 'object' },
    minOccurs: wholeNumber(0),
    maxOccurs: {
      anyOf: [wholeNumber(1), { const: 'unbounded' }],
      message: 'must be a whole number of at least 1, or "unbounded"',
    },
  },
};

const metadata: SchemaObject = {
  type: 'object',
  properties: {
    id: text,
    // pygeoapi examples write `version: 0.1`; the loader keeps the number as written.
    version: { type: ['string', 'number'] },
    title: localizedText,
    description: localizedText,
    keywords,
    jobControlOptions: {
      type: 'array',
      minItems: 1,
      items: { enum: ['sync-execute', 'async-execute', 'dismiss'] },
    },
    outputTransmission: { type: 'array', items: { enum: ['value', 'reference'] } },
    links: {
      type: 'array',
      items: {
        type: 'object',
        required: ['href'],
        properties: { href: nonEmptyText, rel: text, type: text, title: text, hreflang: text },
      },
    },
    inputs: { type: 'object', additionalProperties: parameter },
    outputs: { type: 'object', additionalProperties: parameter },
  },
};

// ---------------------------------------------------------------- processor blocks

const envEntry: SchemaObject = {
  type: 'object',
  required: ['name'],
  additionalProperties: false,
  properties: {
    name: matching(
      ENV_NAME_PATTERN,
      'must be an environment variable name: letters, digits, "_", "-" or ".", not starting with a digit',
    ),
    // Python converts with str(): numbers keep their spelling, booleans become True/False.
    value: { type: ['string', 'number', 'boolean'] },
    secret_name: dnsSubdomain('Secret name'),
    secret_key: matching(SECRET_KEY_PATTERN, 'must be a key of a Secret: letters, digits, "-", "_" or "."'),
  },
};

const storageEntry: SchemaObject = {
  type: 'object',
  required: ['name', 'mount_path'],
  additionalProperties: false,
  properties: {
    name: dnsLabel('volume name'),
    mount_path: nonEmptyText,
    persistent_volume_claim_name: dnsSubdomain('PersistentVolumeClaim name'),
    empty_dir: {
      type: ['object', 'null'],
      additionalProperties: false,
      properties: {
        medium: matching('^(Memory|HugePages(-[0-9A-Za-z]+)?)?$', 'must be "", "Memory" or "HugePages[-<size>]"'),
        size_limit: quantity,
      },
    },
  },
};

const quantities: SchemaObject = { type: 'object', additionalProperties: quantity };

const toleration: SchemaObject = {
  type: 'object',
  additionalProperties: false,
  // Python passes these as keyword arguments to V1Toleration, hence the snake_case seconds.
  properties: {
    key: text,
    operator: { enum: ['Exists', 'Equal'] },
    value: text,
    effect: { enum: ['NoSchedule', 'PreferNoSchedule', 'NoExecute'] },
    toleration_seconds: { type: 'integer' },
  },
};

const imagePullSecrets: SchemaObject = {
  anyOf: [dnsSubdomain('Secret name'), { type: 'array', items: dnsSubdomain('Secret name') }],
  message: `must be a Secret name or a list of them (${DNS_SUBDOMAIN_RULE})`,
};

const argv: SchemaObject = { type: 'array', items: { type: ['string', 'number'] } };

/** Keys every processor understands: how its pod is scheduled, secured and kept. */
const podKeys = {
  name: text,
  default_image: matching('^\\S+$', 'must be an image reference without spaces, e.g. python:3.13-alpine'),
  image_pull_secrets: imagePullSecrets,
  // The Python example configurations spell it in the singular.
  image_pull_secret: imagePullSecrets,
  mimetype: nonEmptyText,
  check_auth: flag,
  resources: {
    type: 'object',
    additionalProperties: false,
    properties: { requests: quantities, limits: quantities },
  },
  tolerations: { type: 'array', items: toleration },
  node_selector: {
    type: 'object',
    propertyNames: {
      pattern: LABEL_KEY_PATTERN,
      message: 'is not a valid label key (optional DNS prefix and "/", then a name of at most 63 characters)',
    },
    additionalProperties: matching(LABEL_VALUE_OR_EMPTY_PATTERN, 'must be a label value (a quoted text of at most 63 characters)'),
  },
  affinity: { type: 'object' },
  service_account: dnsSubdomain('ServiceAccount name'),
  backoff_limit: wholeNumber(0),
  ttl_seconds_after_finished: wholeNumber(0),
  // 0: no deadline for this process, whatever the default.
  active_deadline_seconds: wholeNumber(0),
  // Inputs that are not in the process description are refused unless this is true.
  free_form_inputs: flag,
  // Inputs that may be given by reference ({"href": ...}); others must be given by value.
  href_inputs: { type: 'array', items: nonEmptyText },
  // Kubernetes objects in their own (camelCase) field names; null switches the context off.
  pod_security_context: { type: ['object', 'null'] },
  container_security_context: { type: ['object', 'null'] },
} satisfies Record<string, SchemaObject>;

const genericImageProcessor: SchemaObject = {
  type: 'object',
  required: ['default_image', 'metadata'],
  additionalProperties: false,
  properties: {
    ...podKeys,
    metadata,
    command: argv,
    args: argv,
    env: { type: 'array', items: envEntry },
    storage: { type: 'array', items: storageEntry },
    // Kubernetes containers in their own field names (checked further in kubernetes-objects.ts).
    init_containers: {
      type: 'array',
      items: {
        type: 'object',
        required: ['name', 'image'],
        properties: { name: dnsLabel('container name'), image: podKeys.default_image },
      },
    },
  },
};

const helloWorldProcessor: SchemaObject = {
  type: 'object',
  additionalProperties: false,
  properties: {
    ...podKeys,
    // Shell lines run before the greeting, as in the Python processor (operator-written, never inputs).
    command: {
      anyOf: [text, { type: 'array', items: { type: ['string', 'number'] } }],
      message: 'must be a shell line or a list of shell lines',
    },
  },
};

const echoProcessor: SchemaObject = { type: 'object', additionalProperties: false, properties: podKeys };

function whenNameIn(names: readonly string[], then: SchemaObject): SchemaObject {
  return { if: { type: 'object', required: ['name'], properties: { name: { enum: names } } }, then };
}

const processor: SchemaObject = {
  type: 'object',
  required: ['name'],
  properties: {
    name: {
      type: 'string',
      enum: ALL_PROCESSOR_NAMES,
      message:
        'must be GenericImageProcessor, HelloWorldK8sProcessor or Echo ' +
        '(or a Python name such as pygeoapi_k8s_manager.process.GenericImageProcessor)',
    },
  },
  allOf: [
    whenNameIn(PROCESSOR_NAMES['generic-image'], genericImageProcessor),
    whenNameIn(PROCESSOR_NAMES['hello-world'], helloWorldProcessor),
    whenNameIn(PROCESSOR_NAMES.echo, echoProcessor),
  ],
};

// ---------------------------------------------------------------- whole file

const resource: SchemaObject = {
  type: 'object',
  required: ['type'],
  properties: { type: text },
  if: { type: 'object', required: ['type'], properties: { type: { const: 'process' } } },
  then: { required: ['processor'], properties: { processor } },
};

export const CONFIG_SCHEMA: SchemaObject = {
  type: 'object',
  required: ['server', 'resources'],
  properties: {
    server,
    metadata: {
      type: 'object',
      properties: {
        identification: { type: 'object', properties: { title: localizedText, description: localizedText } },
      },
    },
    resources: { type: 'object', additionalProperties: resource },
  },
};

/** Keys whose value may be null in YAML (`key:` with nothing after it) and still mean something. */
export const NULL_MEANS_OFF_KEYS: readonly string[] = ['pod_security_context', 'container_security_context'];
