/**
 * From a job's printed result to OGC outputs, the results document (valid
 * against the OGC results schema), output selection and raw responses.
 */
import t from 'tap';
import { outputsOf, rawOutput, resultsAnswer, resultsDocument, selectOutputs, type JobResult, type OutputValue } from '../../api/jobs/results.js';
import type { ProcessMetadata } from '../../lib/config/types.js';
import { processDefinition } from '../helpers/api-processes.js';
import { expectOgc } from '../helpers/ogc-schemas.js';

function metadata(outputs: string[]): ProcessMetadata {
  return processDefinition('p', {}, Object.fromEntries(outputs.map((id) => [id, { schema: {} }]))).metadata;
}

interface Case {
  name: string;
  result: JobResult;
  outputs: string[] | undefined;
  want: Record<string, OutputValue>;
  document: Record<string, unknown>;
}

const cases: Case[] = [
  {
    name: 'a JSON object keyed by output ids maps onto those outputs',
    result: { mimetype: 'application/json', value: '{"count": 3, "word": "three"}' },
    outputs: ['count', 'word'],
    want: { count: { value: 3, mediaType: 'application/json' }, word: { value: 'three', mediaType: 'text/plain' } },
    document: { count: 3, word: 'three' },
  },
  {
    name: 'only some output ids as keys is still a mapping',
    result: { mimetype: 'application/json', value: '{"word": "three"}' },
    outputs: ['count', 'word'],
    want: { word: { value: 'three', mediaType: 'text/plain' } },
    document: { word: 'three' },
  },
  {
    name: 'the echo process: {stringInput} onto output stringInput',
    result: { mimetype: 'application/json', value: '{"stringInput": "Hello, OGC!"}' },
    outputs: ['stringInput'],
    want: { stringInput: { value: 'Hello, OGC!', mediaType: 'text/plain' } },
    document: { stringInput: 'Hello, OGC!' },
  },
  {
    name: 'mimetype with parameters is still JSON',
    result: { mimetype: 'application/json; charset=utf-8', value: '[1,2,3]' },
    outputs: ['list'],
    want: { list: { value: [1, 2, 3], mediaType: 'application/json; charset=utf-8' } },
    document: { list: [1, 2, 3] },
  },
  {
    name: 'no mimetype means JSON',
    result: { value: '42' },
    outputs: ['answer'],
    want: { answer: { value: 42, mediaType: 'application/json' } },
    document: { answer: 42 },
  },
  {
    name: 'text/plain goes whole to the single output',
    result: { mimetype: 'text/plain', value: 'line 1\nline 2' },
    outputs: ['text'],
    want: { text: { value: 'line 1\nline 2', mediaType: 'text/plain' } },
    document: { text: 'line 1\nline 2' },
  },
  {
    name: 'another media type gives a qualified value',
    result: { mimetype: 'text/csv', value: 'a,b\n1,2' },
    outputs: ['table'],
    want: { table: { value: 'a,b\n1,2', mediaType: 'text/csv' } },
    document: { table: { value: 'a,b\n1,2', mediaType: 'text/csv' } },
  },
  {
    name: 'no outputs described: the output is called result',
    result: { mimetype: 'text/plain', value: 'hi' },
    outputs: [],
    want: { result: { value: 'hi', mediaType: 'text/plain' } },
    document: { result: 'hi' },
  },
  {
    name: 'no process known (e.g. a kubectl Job): the output is called result',
    result: { mimetype: 'text/plain', value: 'hi' },
    outputs: undefined,
    want: { result: { value: 'hi', mediaType: 'text/plain' } },
    document: { result: 'hi' },
  },
  {
    name: 'a JSON object whose keys are not output ids goes whole to the first output, as a qualified value',
    result: { mimetype: 'application/json', value: '{"result": "Hello \'World\'!"}' },
    outputs: ['echo'],
    want: { echo: { value: { result: "Hello 'World'!" }, mediaType: 'application/json' } },
    document: { echo: { value: { result: "Hello 'World'!" }, mediaType: 'application/json' } },
  },
  {
    name: 'an empty JSON object goes to the single output',
    result: { mimetype: 'application/json', value: '{}' },
    outputs: ['out'],
    want: { out: { value: {}, mediaType: 'application/json' } },
    document: { out: { value: {}, mediaType: 'application/json' } },
  },
  {
    name: 'text labelled JSON that does not parse stays text',
    result: { mimetype: 'application/json', value: 'not json' },
    outputs: ['out'],
    want: { out: { value: 'not json', mediaType: 'application/json' } },
    document: { out: 'not json' },
  },
];

t.test('outputs and results documents', async (t) => {
  for (const c of cases) {
    t.test(c.name, async (t) => {
      const outputs = outputsOf(c.result, c.outputs ? metadata(c.outputs) : undefined);
      t.same(outputs, c.want, 'outputs');
      const document = resultsDocument(outputs);
      t.same(document, c.document, 'results document');
      expectOgc(t, 'results', document, 'a valid OGC results document');
    });
  }
});

t.test('output selection', async (t) => {
  const outputs: Record<string, OutputValue> = {
    count: { value: 3, mediaType: 'application/json' },
    word: { value: 'three', mediaType: 'text/plain' },
  };
  const rows: Array<[string, string[] | undefined, string[]]> = [
    ['nothing asked for: all', undefined, ['count', 'word']],
    ['empty list: all', [], ['count', 'word']],
    ['one output', ['word'], ['word']],
    ['both', ['word', 'count'], ['count', 'word']],
  ];
  for (const [what, requested, want] of rows) t.same(Object.keys(selectOutputs(outputs, requested)), want, what);
});

t.test('raw output', async (t) => {
  const rows: Array<[string, OutputValue, { body: string; contentType: string }]> = [
    ['text', { value: 'Hello\n', mediaType: 'text/plain' }, { body: 'Hello\n', contentType: 'text/plain' }],
    ['other media type, bytes as given', { value: 'a,b\n1,2', mediaType: 'text/csv' }, { body: 'a,b\n1,2', contentType: 'text/csv' }],
    ['JSON object', { value: { a: 1 }, mediaType: 'application/json' }, { body: '{"a":1}', contentType: 'application/json' }],
    ['JSON number', { value: 3, mediaType: 'application/json' }, { body: '3', contentType: 'application/json' }],
    ['a non-text value in a text output becomes JSON', { value: 3, mediaType: 'text/plain' }, { body: '3', contentType: 'application/json' }],
  ];
  for (const [what, out, want] of rows) t.same(rawOutput(out), want, what);
});

t.test('what the results answer, by mode and number of outputs', async (t) => {
  const one = { word: { value: 'three', mediaType: 'text/plain' } };
  const two = { count: { value: 3, mediaType: 'application/json' }, word: { value: 'three', mediaType: 'text/plain' } };
  const rows: Array<[string, Record<string, OutputValue>, 'raw' | 'document', unknown]> = [
    ['raw, one output: its bare value in its media type', one, 'raw', { raw: { body: 'three', contentType: 'text/plain' } }],
    ['document, one output: the document', one, 'document', { document: { word: 'three' } }],
    ['raw, two outputs: the document (the object the job printed)', two, 'raw', { document: { count: 3, word: 'three' } }],
    ['document, two outputs', two, 'document', { document: { count: 3, word: 'three' } }],
    ['raw, no output left after selection: an empty document', {}, 'raw', { document: {} }],
  ];
  for (const [what, outputs, mode, want] of rows) t.same(resultsAnswer(outputs, mode), want, what);
});
