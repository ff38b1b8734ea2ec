/**
 * The 400 detail of a request a route schema rejects: the part, the JSON
 * path, and what is wrong in words a client can act on, for the errors
 * fastify's ajv reports (one at a time).
 */
import t from 'tap';
import type { FastifySchemaValidationError } from 'fastify';
import { describeValidation } from '../../api/ogc/validation-errors.js';

const error = (keyword: string, instancePath: string, params: Record<string, unknown>, message?: string, schemaPath = `#/${keyword}`): FastifySchemaValidationError => ({
  keyword,
  instancePath,
  schemaPath,
  params,
  ...(message ? { message } : {}),
});

t.test('each kind of problem, named with its path', async (t) => {
  const rows: Array<[string, FastifySchemaValidationError[], string | undefined, string]> = [
    ['the body is not an object', [error('type', '', { type: 'object' })], 'body', 'body must be a JSON object'],
    ['a member of the wrong type', [error('type', '/subscriber/successUri', { type: 'string' })], 'body', 'body/subscriber/successUri must be a string'],
    ['an article that fits the type', [error('type', '/limit', { type: 'integer' })], 'querystring', 'querystring/limit must be an integer'],
    ['a value outside its enum, with the values allowed', [error('enum', '/response', { allowedValues: ['raw', 'document'] })], 'body', 'body/response must be one of "raw", "document"'],
    [
      'a property no schema allows: the object and the property',
      [error('not', '/subscriber/doneUri', {}, 'must NOT be valid', '#/properties/subscriber/additionalProperties/not')],
      'body',
      'body/subscriber has no property "doneUri"',
    ],
    ['an escaped property name', [error('not', '/subscriber/a~1b', {}, 'must NOT be valid', '#/additionalProperties/not')], 'body', 'body/subscriber has no property "a/b"'],
    ['additionalProperties false', [error('additionalProperties', '', { additionalProperty: 'extra' })], 'params', 'params has no property "extra"'],
    ['anything else: ajv\'s words after the path', [error('minimum', '/limit', { limit: 1 }, 'must be >= 1')], 'querystring', 'querystring/limit must be >= 1'],
    ['no error given', [], undefined, 'the request body is not valid'],
  ];
  for (const [what, errors, part, want] of rows) t.equal(describeValidation(errors, part), want, what);
});
