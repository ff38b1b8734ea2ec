/**
 * The two processes whose description and program are built in:
 * HelloWorldK8sProcessor (as in the Python manager: same inputs, output and
 * result) and Echo (the OGC API – Processes test process).
 *
 * Both programs are fixed Python scripts passed as argv. The job's inputs reach
 * them only through the PYGEOAPI_K8S_MANAGER_INPUTS environment variable, which
 * the script parses itself: no input is ever spliced into a shell string.
 */
import { JOB_ENV, RESULT_MARKERS } from '../contract.js';
import type { ProcessMetadata } from './types.js';

/** Any image with python3 will do; the configuration's `default_image` overrides it. */
export const SCRIPT_IMAGE = 'python:3.13-alpine';

const PROLOGUE = [
  'import json, os',
  `inputs = json.loads(os.environ.get(${JSON.stringify(JOB_ENV.inputs)}) or "{}")`,
];

function printResult(pythonExpression: string): string[] {
  return [
    `print(${JSON.stringify(`${RESULT_MARKERS.mimetype}application/json`)})`,
    `print(${JSON.stringify(RESULT_MARKERS.start)})`,
    `print(json.dumps(${pythonExpression}), end="")`,
  ];
}

/** Prints the Python manager's greeting: `Hello '<name>': '<message>'`, or `Hello '<name>'!` without a message. */
const HELLO_WORLD_SCRIPT = [
  ...PROLOGUE,
  `greeting = "Hello '%s'" % inputs.get("name")`,
  `greeting += ": '%s'" % inputs["message"] if inputs.get("message") else "!"`,
  ...printResult('{"result": greeting}'),
].join('\n');

/** Waits `pause` seconds, then answers every output id given as argument with the input of the same id. */
const ECHO_SCRIPT = [
  ...PROLOGUE,
  'import sys, time',
  'pause = inputs.get("pause")',
  'if isinstance(pause, int) and not isinstance(pause, bool) and pause > 0:',
  '    time.sleep(pause)',
  ...printResult('{key: inputs[key] for key in sys.argv[1:] if key in inputs}'),
].join('\n');

/**
 * The hello-world container's argv. `preludeLines` are the configuration's
 * `command` lines, which the Python processor runs before the greeting; they
 * are the operator's shell lines (never inputs) and run through sh, which then
 * execs the fixed greeting program.
 */
export function helloWorldCommand(preludeLines: readonly string[]): string[] {
  const program = ['python3', '-c', HELLO_WORLD_SCRIPT];
  if (preludeLines.length === 0) return program;
  return ['/bin/sh', '-c', `${preludeLines.join('; ')}; exec "$@"`, 'hello-world-k8s', ...program];
}

export function echoCommand(outputIds: readonly string[]): string[] {
  return ['python3', '-c', ECHO_SCRIPT, ...outputIds];
}

/** The Python HelloWorldK8sProcessor's description; `id` is replaced by the configured process id. */
export function helloWorldMetadata(): ProcessMetadata {
  return {
    version: '0.1.0',
    id: 'hello-world-k8s',
    title: { en: 'Hello World k8s' },
    description: {
      en:
        'An example process that takes a name as input, and echoes it back as output. ' +
        'Intended to demonstrate a simple process with a single literal input.',
    },
    jobControlOptions: ['async-execute'],
    keywords: ['hello world', 'example', 'echo', 'k8s', 'KubernetesManager'],
    links: [
      { type: 'text/html', rel: 'about', title: 'information', href: 'https://example.org/process', hreflang: 'en-US' },
    ],
    inputs: {
      name: {
        title: 'Name',
        description: 'The name of the person or entity that you wish to be echoed back as an output',
        schema: { type: 'string' },
        minOccurs: 1,
        maxOccurs: 1,
        keywords: ['full name', 'personal'],
      },
      message: {
        title: 'Message',
        description: 'An optional message to echo as well',
        schema: { type: 'string' },
        minOccurs: 0,
        maxOccurs: 1,
        keywords: ['message'],
      },
    },
    outputs: {
      echo: {
        title: 'Hello, world',
        description: 'A "hello world" echo with the name and (optional) message submitted for processing',
        schema: { type: 'object', contentMediaType: 'application/json' },
      },
    },
    example: { inputs: { name: 'World', message: 'An optional message.' } },
  };
}

/**
 * The echo process in the shape the OGC CITE tests look for: string inputs
 * whose outputs have the same ids and return the input values, and an integer
 * `pause` to make a job run for a while (asynchronous execution, dismissal).
 */
export function echoMetadata(): ProcessMetadata {
  return {
    version: '1.0.0',
    id: 'echo',
    title: 'Echo',
    description:
      'Returns each string input as the output of the same id, after waiting `pause` seconds. ' +
      'For OGC API - Processes conformance tests and smoke tests.',
    jobControlOptions: ['sync-execute', 'async-execute', 'dismiss'],
    outputTransmission: ['value'],
    keywords: ['echo', 'test'],
    links: [],
    inputs: {
      stringInput: {
        title: 'String input',
        description: 'Any text; returned as output `stringInput`.',
        schema: { type: 'string' },
        minOccurs: 1,
        maxOccurs: 1,
      },
      pause: {
        title: 'Pause',
        description: 'Seconds to wait before answering.',
        schema: { type: 'integer', minimum: 0 },
        minOccurs: 0,
        maxOccurs: 1,
      },
    },
    outputs: {
      stringInput: {
        title: 'String output',
        description: 'The value of input `stringInput`.',
        schema: { type: 'string' },
      },
    },
    example: { inputs: { stringInput: 'Hello, OGC API!', pause: 0 } },
  };
}
