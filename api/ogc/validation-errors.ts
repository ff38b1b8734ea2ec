/**
 * What a route schema found wrong with a request, in words that name the
 * part and the JSON path (`body/subscriber/successUri must be a string`),
 * for the 400 exception. Fastify's own message names the path but not, for
 * an enum, the values allowed, nor the property no schema allows.
 */
import type { FastifySchemaValidationError } from 'fastify';

/** Only the first problem: fastify's ajv stops at it (allErrors is off). */
export function describeValidation(errors: readonly FastifySchemaValidationError[], part: string | undefined): string {
  const first = errors[0];
  if (!first) return `the request ${part ?? 'body'} is not valid`;
  const where = `${part ?? ''}${first.instancePath}`;
  const params = first.params as Record<string, unknown>;
  const quoted = (values: unknown): string => (Array.isArray(values) ? values.map((v) => JSON.stringify(v)).join(', ') : '');
  // A property no schema allows (`additionalProperties: { not: {} }`): the object, and the property to remove.
  if (first.keyword === 'not' && first.schemaPath.endsWith('/additionalProperties/not')) {
    const slash = first.instancePath.lastIndexOf('/');
    const property = first.instancePath.slice(slash + 1).replace(/~1/g, '/').replace(/~0/g, '~');
    return `${part ?? ''}${first.instancePath.slice(0, slash)} has no property ${JSON.stringify(property)}`;
  }
  switch (first.keyword) {
    case 'enum':
      return `${where} must be one of ${quoted(params.allowedValues)}`;
    case 'type':
      return `${where} must be ${params.type === 'object' ? 'a JSON object' : /^[aeiou]/.test(String(params.type)) ? `an ${String(params.type)}` : `a ${String(params.type)}`}`;
    case 'additionalProperties':
      return `${where} has no property ${JSON.stringify(params.additionalProperty)}`;
    default:
      return `${where} ${first.message ?? 'is not valid'}`;
  }
}
