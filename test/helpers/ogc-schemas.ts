/**
 * Validation of response bodies against the official OGC API – Processes –
 * Part 1: Core 1.0 schemas in ../shared/ogcapi-processes/schemas (beside the
 * repository). Every body schema (openapi/schemas/*.yaml) is loaded into one
 * ajv instance with its file URL as `$id`, so the fragments' relative `$ref`s
 * resolve as written. (openapi/responses and openapi/parameters are HTTP-level
 * OpenAPI objects, not schemas; their bodies are these same files.)
 *
 * The fragments are OpenAPI 3.0 Schema Objects, not plain JSON Schema; three
 * adaptations (the ones the schemas' README lists) make ajv read them:
 * - boolean `exclusiveMinimum`/`exclusiveMaximum` (draft-04 style) become
 *   the numeric form;
 * - OpenAPI annotations such as `example` are ignored (ajv knows `nullable`);
 * - `oneOf` is read as `anyOf`, because several `oneOf`s have overlapping
 *   branches (`number` and `integer`, plain and base64 strings), under which
 *   a strict `oneOf` rejects e.g. every integer result value.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Ajv, type ErrorObject } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { parse } from 'yaml';
import { isRecord } from '../../lib/is-record.js';

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => void;

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const OGC_SCHEMAS_DIR = path.resolve(repoRoot, '..', 'shared', 'ogcapi-processes', 'schemas');
const OPENAPI_DIR = path.join(OGC_SCHEMAS_DIR, 'openapi');

export type OgcDocumentKind = 'landingPage' | 'confClasses' | 'processList' | 'process' | 'statusInfo' | 'jobList' | 'exception' | 'results';

/** The schema file of each document kind, under openapi/schemas. */
const SCHEMA_FILES: Record<OgcDocumentKind, string> = {
  landingPage: 'landingPage.yaml',
  confClasses: 'confClasses.yaml',
  processList: 'processList.yaml',
  process: 'process.yaml',
  statusInfo: 'statusInfo.yaml',
  jobList: 'jobList.yaml',
  exception: 'exception.yaml',
  results: 'results.yaml',
};

/** OpenAPI 3.0 Schema Object → JSON Schema ajv evaluates (see the module comment). */
export function toJsonSchema(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(toJsonSchema);
  if (!isRecord(node)) return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === 'oneOf') out.anyOf = toJsonSchema(value);
    else out[key] = toJsonSchema(value);
  }
  for (const [flag, bound] of [
    ['exclusiveMinimum', 'minimum'],
    ['exclusiveMaximum', 'maximum'],
  ] as const) {
    if (typeof out[flag] !== 'boolean') continue;
    if (out[flag] === true && typeof out[bound] === 'number') {
      out[flag] = out[bound];
      delete out[bound];
    } else delete out[flag];
  }
  return out;
}

function fileId(file: string): string {
  return pathToFileURL(file).href;
}

let ajv: Ajv | undefined;

function schemas(): Ajv {
  if (ajv) return ajv;
  if (!existsSync(path.join(OPENAPI_DIR, 'schemas', 'statusInfo.yaml'))) {
    throw new Error(
      `the OGC API – Processes schemas are missing: expected ${OPENAPI_DIR}/{schemas,responses,parameters} (../shared/ogcapi-processes beside the repository)`,
    );
  }
  const instance = new Ajv({ strict: false, allErrors: true });
  addFormats(instance);
  const dir = path.join(OPENAPI_DIR, 'schemas');
  for (const file of readdirSync(dir).filter((name) => name.endsWith('.yaml')).map((name) => path.join(dir, name))) {
    const schema = toJsonSchema(parse(readFileSync(file, 'utf8')));
    if (!isRecord(schema)) throw new Error(`${file}: not a schema object`);
    instance.addSchema({ ...schema, $id: fileId(file) });
  }
  ajv = instance;
  return instance;
}

function describe(errors: ErrorObject[]): string[] {
  return errors.map((e) => `${e.instancePath || '(document)'} ${e.message ?? 'is invalid'}${e.params ? ` ${JSON.stringify(e.params)}` : ''}`);
}

/** Errors of `body` against the OGC schema of `kind`; empty when it is valid. */
export function validateOgc(kind: OgcDocumentKind, body: unknown): string[] {
  const instance = schemas();
  const id = fileId(path.join(OPENAPI_DIR, 'schemas', SCHEMA_FILES[kind]));
  const validate = instance.getSchema(id);
  if (!validate) throw new Error(`no OGC schema loaded as ${id}`);
  return validate(body) ? [] : describe(validate.errors ?? []);
}

