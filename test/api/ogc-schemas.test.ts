/**
 * The OGC schema helper the API tests rely on: it must accept the
 * standard's own kinds of documents and reject broken ones, or the
 * end-to-end checks would prove nothing.
 */
import t from 'tap';
import { OGC_SCHEMAS_MISSING, toJsonSchema, validateOgc, type OgcDocumentKind } from '../helpers/ogc-schemas.js';

const link = { href: 'http://x/', rel: 'self', type: 'application/json' };

const valid: Array<[OgcDocumentKind, unknown]> = [
  ['landingPage', { title: 't', links: [link] }],
  ['confClasses', { conformsTo: ['http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/core'] }],
  ['processList', { processes: [{ id: 'echo', version: '1.0.0', jobControlOptions: ['sync-execute'], links: [link] }], links: [link] }],
  ['process', { id: 'echo', version: '1.0.0', inputs: { a: { schema: { type: 'string' }, minOccurs: 0, maxOccurs: 'unbounded' } }, outputs: { b: { schema: { type: 'integer', minimum: 0 } } } }],
  ['statusInfo', { jobID: 'j', type: 'process', status: 'successful', progress: 100, created: '2025-03-01T10:00:00Z' }],
  ['jobList', { jobs: [{ jobID: 'j', type: 'process', status: 'running' }], links: [] }],
  ['exception', { type: 'http://www.opengis.net/def/exceptions/ogcapi-processes-1/1.0/no-such-job', title: 'No such job', status: 404 }],
  ['results', { a: 'text', b: 3, c: 2.5, d: true, e: [1, 'x'], f: { value: { x: 1 }, mediaType: 'application/json' }, g: { href: 'http://x/r' } }],
];

const invalid: Array<[OgcDocumentKind, unknown, string]> = [
  ['landingPage', { title: 't' }, 'no links'],
  ['landingPage', { links: [{ rel: 'self' }] }, 'a link without href'],
  ['confClasses', { conformsTo: 'core' }, 'conformsTo not an array'],
  ['processList', { processes: [{ id: 'echo' }], links: [] }, 'a summary without version'],
  ['processList', { processes: [{ id: 'echo', version: '1', jobControlOptions: ['sometimes'] }], links: [] }, 'an unknown job control option'],
  ['process', { id: 'p', version: '1', inputs: { a: { minOccurs: 1 } } }, 'an input without schema'],
  ['process', { id: 'p', version: '1', inputs: { a: { schema: { type: 'string', bogus: 1 } } } }, 'an input schema with an unknown keyword'],
  ['statusInfo', { jobID: 'j', status: 'running' }, 'no type'],
  ['statusInfo', { jobID: 'j', type: 'process', status: 'done' }, 'an unknown status'],
  ['statusInfo', { jobID: 'j', type: 'process', status: 'running', progress: 50.5 }, 'a fractional progress'],
  ['statusInfo', { jobID: 'j', type: 'process', status: 'running', updated: 'now' }, 'a time that is not date-time'],
  ['jobList', { jobs: [] }, 'no links'],
  ['exception', { title: 'x' }, 'no type'],
  ['results', { a: { x: 1 } }, 'an inline object'],
  ['results', { a: null }, 'null'],
];

t.test('valid documents pass', { skip: OGC_SCHEMAS_MISSING ?? false }, async (t) => {
  for (const [kind, body] of valid) t.same(validateOgc(kind, body), [], kind);
});

t.test('broken documents fail', { skip: OGC_SCHEMAS_MISSING ?? false }, async (t) => {
  for (const [kind, body, what] of invalid) t.ok(validateOgc(kind, body).length > 0, `${kind}: ${what}`);
});

t.test('OpenAPI 3.0 → JSON Schema adaptations', async (t) => {
  t.same(toJsonSchema({ type: 'number', minimum: 0, exclusiveMinimum: true }), { type: 'number', exclusiveMinimum: 0 }, 'boolean exclusiveMinimum');
  t.same(toJsonSchema({ type: 'number', maximum: 5, exclusiveMaximum: false }), { type: 'number', maximum: 5 }, 'false exclusiveMaximum');
  t.same(toJsonSchema({ properties: { exclusiveMinimum: { type: 'boolean' } } }), { properties: { exclusiveMinimum: { type: 'boolean' } } }, 'a property named exclusiveMinimum stays');
  t.same(toJsonSchema({ oneOf: [{ type: 'number' }, { type: 'integer' }] }), { anyOf: [{ type: 'number' }, { type: 'integer' }] }, 'oneOf read as anyOf');
});
