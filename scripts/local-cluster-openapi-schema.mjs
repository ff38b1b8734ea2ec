#!/usr/bin/env node
/**
 * Regenerates local-cluster/api-server/http/openapi-schemas.json: the OpenAPI
 * v3 component schemas (descriptions, types, required fields, enums) of the
 * kinds local-cluster serves and every type they reach, named as the real
 * API server names them (`io.k8s.api.batch.v1.JobSpec`). Source: the
 * TypeScript declarations of the `kubernetes-models` dependency, which are
 * generated from the Kubernetes OpenAPI document and carry its descriptions
 * as doc comments; parsed with the TypeScript compiler, offline.
 *
 * What the declarations do not carry is added by the server when it serves
 * them: `x-kubernetes-group-version-kind` (from its resource table) and the
 * patch-strategy extensions (from its strategic-merge table). Numbers are
 * declared as `number` without int/double: they become `integer` (every
 * number field of the served kinds is an integer in the real schema).
 *
 *   npx tsx scripts/local-cluster-openapi-schema.mjs [output file]
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import ts from 'typescript';

const root = path.resolve(import.meta.dirname, '..');
const require = createRequire(path.join(root, 'package.json'));
const modelsDir = path.dirname(require.resolve('kubernetes-models/package.json'));
const machineryDir = path.dirname(require.resolve('@kubernetes-models/apimachinery/package.json'));
const OUT = process.argv[2] ? path.resolve(process.argv[2]) : path.join(root, 'local-cluster/api-server/http/openapi-schemas.json');

/** Served kinds (apiVersion kind), from the resource table itself (this script runs under tsx). */
const { RESOURCE_TYPES, apiVersionOf } = await import('../local-cluster/api-server/resources.ts');
const ROOTS = RESOURCE_TYPES.map((r) => `${apiVersionOf(r)} ${r.kind}`);

/** Types declared as aliases (not interfaces) and their schema in the real document. */
const ALIASES = {
  'io.k8s.apimachinery.pkg.apis.meta.v1.Time': { type: 'string', format: 'date-time' },
  'io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime': { type: 'string', format: 'date-time' },
  'io.k8s.apimachinery.pkg.util.intstr.IntOrString': { type: 'string', format: 'int-or-string' },
  'io.k8s.apimachinery.pkg.api.resource.Quantity': { type: 'string' },
  'io.k8s.apimachinery.pkg.apis.meta.v1.FieldsV1': { type: 'object' },
  'io.k8s.apimachinery.pkg.runtime.RawExtension': { type: 'object' },
};

/** The real schema name of a declaration file: its folder names the API package. */
function schemaName(file) {
  const base = path.basename(file, '.d.ts');
  if (file.startsWith(machineryDir)) {
    const rel = path.relative(machineryDir, path.dirname(file)).split(path.sep).join('.');
    return `io.k8s.apimachinery.pkg.${rel}.${base}`;
  }
  const [group, version] = path.relative(modelsDir, path.dirname(file)).split(path.sep);
  if (!version) return `io.k8s.api.core.${group}.${base}`;
  return `io.k8s.api.${group.replace(/\.k8s\.io$/, '').replace(/\.authorization$/, '')}.${version}.${base}`;
}

function declarationFile(apiVersion, kind) {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  return path.join(modelsDir, group || '', version, `${kind}.d.ts`);
}

function resolveImport(fromFile, specifier) {
  const base = specifier.startsWith('.')
    ? path.resolve(path.dirname(fromFile), specifier)
    : specifier.startsWith('@kubernetes-models/apimachinery/')
      ? path.join(machineryDir, specifier.slice('@kubernetes-models/apimachinery/'.length))
      : undefined;
  if (!base) return undefined;
  const file = `${base}.d.ts`;
  return existsSync(file) ? file : undefined;
}

function docOf(node) {
  const docs = node.jsDoc ?? [];
  const text = docs.map((d) => (typeof d.comment === 'string' ? d.comment : (d.comment ?? []).map((c) => c.text).join(''))).join('\n').trim();
  return text || undefined;
}

const schemas = {};
const queue = [];

function want(file) {
  const name = schemaName(file);
  if (!(name in schemas)) {
    schemas[name] = null;
    queue.push(file);
  }
  return name;
}

function convert(typeNode, imports, { literalAsString = false } = {}) {
  switch (typeNode.kind) {
    case ts.SyntaxKind.StringKeyword:
      return { type: 'string' };
    case ts.SyntaxKind.NumberKeyword:
      return { type: 'integer' };
    case ts.SyntaxKind.BooleanKeyword:
      return { type: 'boolean' };
    case ts.SyntaxKind.ArrayType:
      return { type: 'array', items: convert(typeNode.elementType, imports) };
    case ts.SyntaxKind.LiteralType:
      return literalAsString ? { type: 'string' } : { type: 'string', enum: [typeNode.literal.text] };
    case ts.SyntaxKind.UnionType: {
      const values = typeNode.types.filter((t) => t.kind === ts.SyntaxKind.LiteralType).map((t) => t.literal.text);
      if (values.length === typeNode.types.length) return { type: 'string', enum: values };
      break;
    }
    case ts.SyntaxKind.TypeLiteral: {
      const index = typeNode.members.find((m) => m.kind === ts.SyntaxKind.IndexSignature);
      if (index) return { type: 'object', additionalProperties: convert(index.type, imports) };
      return { type: 'object' };
    }
    case ts.SyntaxKind.TypeReference: {
      const name = typeNode.typeName.getText();
      if (name === 'Array') return { type: 'array', items: convert(typeNode.typeArguments[0], imports) };
      if (name === 'Record') return { type: 'object', additionalProperties: convert(typeNode.typeArguments[1], imports) };
      const file = imports.get(name);
      if (file) return { $ref: `#/components/schemas/${want(file)}` };
      break;
    }
    case ts.SyntaxKind.AnyKeyword:
    case ts.SyntaxKind.UnknownKeyword:
      return { type: 'object' };
  }
  throw new Error(`cannot convert type ${typeNode.getText()}`);
}

function parse(file) {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const imports = new Map();
  for (const statement of source.statements) {
    if (!ts.isImportDeclaration(statement)) continue;
    const target = resolveImport(file, statement.moduleSpecifier.text);
    for (const element of statement.importClause?.namedBindings?.elements ?? []) if (target) imports.set(element.name.text, target);
  }
  const name = schemaName(file);
  if (ALIASES[name]) {
    const alias = source.statements.find((s) => ts.isTypeAliasDeclaration(s));
    schemas[name] = { ...(alias && docOf(alias) ? { description: docOf(alias) } : {}), ...ALIASES[name] };
    return;
  }
  const declaration = source.statements.find((s) => ts.isInterfaceDeclaration(s));
  if (!declaration) throw new Error(`no interface in ${file}`);
  const properties = {};
  const required = [];
  for (const member of declaration.members) {
    if (!ts.isPropertySignature(member)) continue;
    const field = member.name.text ?? member.name.getText();
    const isTypeMeta = field === 'apiVersion' || field === 'kind';
    let schema = convert(member.type, imports, { literalAsString: isTypeMeta });
    const description = docOf(member) ?? (isTypeMeta ? TYPE_META[field] : undefined);
    if (schema.$ref) schema = { allOf: [schema] };
    properties[field] = { ...(description ? { description } : {}), ...schema };
    if (!member.questionToken && !isTypeMeta) required.push(field);
  }
  schemas[name] = {
    ...(docOf(declaration) ? { description: docOf(declaration) } : {}),
    type: 'object',
    properties: Object.fromEntries(Object.entries(properties).sort(([a], [b]) => (a < b ? -1 : 1))),
    ...(required.length ? { required } : {}),
  };
}

// apiVersion and kind of root kinds are declared without descriptions (as literal types): the real ones.
const TYPE_META = (() => {
  const status = ts.createSourceFile('s', readFileSync(path.join(machineryDir, 'apis/meta/v1/Status.d.ts'), 'utf8'), ts.ScriptTarget.Latest, true);
  const iface = status.statements.find((s) => ts.isInterfaceDeclaration(s));
  const of = (field) => docOf(iface.members.find((m) => m.name?.text === field));
  return { apiVersion: of('apiVersion'), kind: of('kind') };
})();

const roots = {};
for (const entry of ROOTS) {
  const [apiVersion, kind] = entry.split(' ');
  const file = declarationFile(apiVersion, kind);
  if (!existsSync(file)) {
    console.warn(`skipped ${entry}: kubernetes-models no longer declares it`);
    continue;
  }
  roots[`${apiVersion}/${kind}`] = want(file);
}
while (queue.length) parse(queue.shift());

const sorted = Object.fromEntries(Object.entries(schemas).sort(([a], [b]) => (a < b ? -1 : 1)));
const version = JSON.parse(readFileSync(path.join(modelsDir, 'package.json'), 'utf8')).version;
writeFileSync(OUT, `${JSON.stringify({ source: `kubernetes-models ${version}`, roots, schemas: sorted })}\n`);
console.log(`${Object.keys(sorted).length} schemas for ${Object.keys(roots).length} kinds → ${path.relative(root, OUT)} (${readFileSync(OUT).length} bytes)`);
