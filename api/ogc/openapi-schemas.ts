/**
 * The JSON schemas of every OGC route's requests and responses (OGC API –
 * Processes – Part 1: Core 1.0, written for this server): fastify validates
 * requests and serializes responses with them, and @fastify/swagger turns
 * them into the OpenAPI 3.0 document at /api.
 */

const link = {
  type: 'object',
  required: ['href'],
  properties: { href: { type: 'string' }, rel: { type: 'string' }, type: { type: 'string' }, hreflang: { type: 'string' }, title: { type: 'string' } },
} as const;
const links = { type: 'array', items: link } as const;

export const exceptionSchema = {
  type: 'object',
  description: 'RFC 7807 problem details with the OGC exception type',
  required: ['type'],
  properties: { type: { type: 'string' }, title: { type: 'string' }, status: { type: 'integer' }, detail: { type: 'string' }, instance: { type: 'string' } },
} as const;

const landingPage = {
  type: 'object',
  required: ['links'],
  properties: {
    title: { type: 'string' },
    description: { type: 'string' },
    /** Present only when access control is off (PYGEOAPI_K8S_MANAGER_AUTH_MODE=none). */
    warning: { type: 'string' },
    links,
  },
} as const;

const confClasses = { type: 'object', required: ['conformsTo'], properties: { conformsTo: { type: 'array', items: { type: 'string' } } } } as const;

const jobControlOptions = { type: 'array', items: { type: 'string', enum: ['sync-execute', 'async-execute', 'dismiss'] } } as const;

const summaryProperties = {
  id: { type: 'string' },
  title: { type: 'string' },
  description: { type: 'string' },
  keywords: { type: 'array', items: { type: 'string' } },
  version: { type: 'string' },
  jobControlOptions,
  outputTransmission: { type: 'array', items: { type: 'string', enum: ['value', 'reference'] } },
  links,
} as const;

/** An input or output description: its JSON schema is the process's own, any shape. */
const parameter = {
  type: 'object',
  properties: {
    title: { type: 'string' },
    description: { type: 'string' },
    keywords: { type: 'array', items: { type: 'string' } },
    schema: { type: 'object', additionalProperties: true },
    minOccurs: { type: 'integer' },
    maxOccurs: { anyOf: [{ type: 'integer' }, { type: 'string', enum: ['unbounded'] }] },
    metadata: { type: 'array', items: { type: 'object', additionalProperties: true } },
  },
} as const;

const processList = { type: 'object', required: ['processes', 'links'], properties: { processes: { type: 'array', items: { type: 'object', required: ['id', 'version'], properties: summaryProperties } }, links } } as const;

const processDescription = {
  type: 'object',
  required: ['id', 'version'],
  properties: { ...summaryProperties, inputs: { type: 'object', additionalProperties: parameter }, outputs: { type: 'object', additionalProperties: parameter } },
} as const;

export const statusInfoSchema = {
  type: 'object',
  required: ['jobID', 'type', 'status'],
  properties: {
    jobID: { type: 'string' },
    processID: { type: 'string' },
    type: { type: 'string', enum: ['process'] },
    status: { type: 'string', enum: ['accepted', 'running', 'successful', 'failed', 'dismissed'] },
    message: { type: 'string' },
    created: { type: 'string', format: 'date-time' },
    started: { type: 'string', format: 'date-time' },
    finished: { type: 'string', format: 'date-time' },
    updated: { type: 'string', format: 'date-time' },
    progress: { type: 'integer', minimum: 0, maximum: 100 },
    links,
  },
} as const;

const jobList = { type: 'object', required: ['jobs', 'links'], properties: { jobs: { type: 'array', items: statusInfoSchema }, links } } as const;

/** Output id → inline value or qualified value `{ value, mediaType }` or link. */
const results = { type: 'object', description: 'output id → value, qualified value or link', additionalProperties: true } as const;

/**
 * A 200 with results: the document as JSON, or one output bare in its own
 * media type (strings are sent as they are; the schema serializes documents only).
 */
function resultsResponse(description: string) {
  return {
    description,
    content: {
      'application/json': { schema: results },
      '*/*': { schema: { description: 'one output, bare, in its own media type (response raw, the default)' } },
    },
  };
}

// The scheme, credentials and address of a callback are checked by the callback policy, whose errors name the problem.
const callbackUri = { type: 'string', description: 'an http(s) URL the callback policy accepts' } as const;
const CALLBACKS = ['successUri', 'inProgressUri', 'failedUri'] as const;

/** How an output is to be returned (output.yaml); this server returns every output by value. */
const outputDefinition = {
  type: 'object',
  properties: {
    format: {
      type: 'object',
      properties: { mediaType: { type: 'string' }, encoding: { type: 'string' }, schema: { anyOf: [{ type: 'string' }, { type: 'object' }] } },
    },
    transmissionMode: { type: 'string', enum: ['value', 'reference'] },
  },
} as const;

/**
 * The execute request (execute.yaml). The shapes are checked here; what
 * depends on the process (which inputs, each value against its schema, the
 * output ids, the token) and on the server (inputs size, nesting depth,
 * callback and href policy) is checked by the route, which knows both. Input
 * values stay open: a value, a qualified value, a link or an array of them,
 * judged against the process's own input schemas. Unknown top-level members
 * are allowed (the pages post form fields to the same route).
 */
export const executeSchema = {
  type: 'object',
  description: 'An execute request; the pages post the same as form fields (input.<id>, mode)',
  properties: {
    inputs: { type: 'object', description: 'input id → value (or array of values, qualified value, link)' },
    outputs: { type: 'object', description: 'output id → output definition; only these outputs are returned', additionalProperties: outputDefinition },
    response: {
      type: 'string',
      enum: ['raw', 'document'],
      default: 'raw',
      description: 'raw (default): one output as its bare value in its media type (several: the results document); document: the results document',
    },
    subscriber: {
      type: 'object',
      description: 'callback URLs, POSTed the status (inProgressUri, failedUri) or the results document (successUri)',
      properties: Object.fromEntries(CALLBACKS.map((key) => [key, callbackUri])),
      // Not `additionalProperties: false`: fastify's ajv silently drops such keys (removeAdditional) instead of refusing them;
      // not propertyNames either: OpenAPI 3.0 has no such keyword.
      additionalProperties: { not: {} },
    },
  },
} as const;

/** One execute request for a configured process, so Swagger UI's "try it out" sends something that runs. */
export interface ExecuteExample {
  processId: string;
  body: Record<string, unknown>;
}

export function executeRouteSchema(example: ExecuteExample | undefined) {
  return {
    ...ROUTE_SCHEMAS.execute,
    params: { type: 'object', required: ['processId'], properties: { processId: { type: 'string', ...(example ? { examples: [example.processId] } : {}) } } },
    body: { ...executeSchema, ...(example ? { examples: [example.body] } : {}) },
  };
}

const format = { f: { type: 'string', enum: ['json', 'html'], description: 'representation: json (default) or html; browsers get html from their Accept header' } } as const;
const paging = {
  limit: { type: 'integer', minimum: 1, description: 'items per page (capped at server.limits.max_items)' },
  offset: { type: 'integer', minimum: 0 },
} as const;
const errors = { '4xx': exceptionSchema, '5xx': exceptionSchema } as const;

export const ROUTE_SCHEMAS = {
  landing: { summary: 'Landing page', tags: ['Capabilities'], querystring: { type: 'object', properties: format }, response: { 200: landingPage, ...errors } },
  conformance: { summary: 'Conformance classes', tags: ['Capabilities'], querystring: { type: 'object', properties: format }, response: { 200: confClasses, ...errors } },
  processes: {
    summary: 'List the processes',
    tags: ['Processes'],
    querystring: { type: 'object', properties: { ...format, ...paging } },
    response: { 200: processList, ...errors },
  },
  process: {
    summary: 'Describe a process',
    tags: ['Processes'],
    params: { type: 'object', required: ['processId'], properties: { processId: { type: 'string' } } },
    querystring: { type: 'object', properties: format },
    response: { 200: processDescription, ...errors },
  },
  execute: {
    summary: 'Execute a process',
    description:
      'Synchronous (200 with the results) when the process allows it and no Prefer: respond-async is sent, else asynchronous (201 + Location). ' +
      'The results: with response raw (the default) one output as its bare value in its media type; with response document, or several outputs, the results document.',
    tags: ['Processes'],
    params: { type: 'object', required: ['processId'], properties: { processId: { type: 'string' } } },
    headers: { type: 'object', properties: { prefer: { type: 'string', description: 'respond-async for asynchronous execution' } } },
    body: executeSchema,
    response: { 200: resultsResponse('one output bare in its media type (response raw, the default) or the results document (response document, or several outputs)'), 201: statusInfoSchema, 303: { description: 'form posts: the job page', type: 'null' }, ...errors },
  },
  jobs: {
    summary: 'List jobs',
    tags: ['Jobs'],
    querystring: {
      type: 'object',
      properties: {
        ...format,
        // Strings of digits (empty allowed): the job page's filter form sends fields left open as empty.
        limit: { type: 'string', pattern: '^[0-9]*$', description: 'items per page (capped at server.limits.max_items)' },
        offset: { type: 'string', pattern: '^[0-9]*$' },
        type: { type: 'array', items: { type: 'string', enum: ['process'] } },
        processID: { type: 'array', items: { type: 'string' } },
        status: { type: 'array', items: { type: 'string' } },
        datetime: { type: 'string', description: 'instant or interval (start/end, .. for open) of the creation time' },
        minDuration: { type: 'string', pattern: '^[0-9]*$', description: 'whole seconds' },
        maxDuration: { type: 'string', pattern: '^[0-9]*$', description: 'whole seconds' },
      },
    },
    response: { 200: jobList, ...errors },
  },
  job: {
    summary: 'Status of a job',
    tags: ['Jobs'],
    params: { type: 'object', required: ['jobId'], properties: { jobId: { type: 'string' } } },
    querystring: { type: 'object', properties: format },
    response: { 200: statusInfoSchema, 304: { description: 'unchanged since the ETag given in If-None-Match', type: 'null' }, ...errors },
  },
  dismiss: {
    summary: 'Dismiss a job',
    tags: ['Jobs'],
    params: { type: 'object', required: ['jobId'], properties: { jobId: { type: 'string' } } },
    response: { 200: statusInfoSchema, ...errors },
  },
  results: {
    summary: 'Results of a job',
    tags: ['Jobs'],
    params: { type: 'object', required: ['jobId'], properties: { jobId: { type: 'string' } } },
    querystring: { type: 'object', properties: { f: { type: 'string', enum: ['json'] } } },
    response: { 200: resultsResponse('as the execution asked: one output bare in its media type (response raw, the default) or the results document (response document, or several outputs)'), ...errors },
  },
  logs: {
    summary: 'Log of a job',
    tags: ['Jobs'],
    params: { type: 'object', required: ['jobId'], properties: { jobId: { type: 'string' } } },
    response: { 200: { description: 'every container log, live from the pods or from the archive (text/plain)', type: 'string' }, ...errors },
  },
};

