/**
 * The OpenAPI v2 document in the protobuf form kubectl 1.27 and 1.28 fetch
 * (gnostic's openapi.v2.Document) to learn that the server validates fields
 * itself: each resource's PATCH operation with its group-version-kind
 * extension and the `fieldValidation` query parameter. No schemas, as in the
 * v3 documents. A minimal protobuf writer suffices: only strings and nested
 * messages occur.
 */
import { groupVersions, RESOURCE_TYPES } from '../resources.js';

export const OPENAPI_V2_PROTOBUF = 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf';

type Field = [number, string | Buffer | Field[]];

function varint(value: number): Buffer {
  const bytes: number[] = [];
  let v = value;
  while (v > 0x7f) {
    bytes.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  bytes.push(v);
  return Buffer.from(bytes);
}

/** Encodes fields as length-delimited (wire type 2) entries: strings, bytes and sub-messages. */
export function encodeMessage(fields: Field[]): Buffer {
  return Buffer.concat(
    fields.map(([number, value]) => {
      const payload = typeof value === 'string' ? Buffer.from(value, 'utf8') : Buffer.isBuffer(value) ? value : encodeMessage(value);
      return Buffer.concat([varint((number << 3) | 2), varint(payload.length), payload]);
    }),
  );
}

function patchOperation(group: string, version: string, kind: string): Field[] {
  const queryParameter: Field[] = [[2, 'query'], [4, 'fieldValidation'], [6, 'string']]; // QueryParameterSubSchema: in, name, type
  const parametersItem: Field[] = [[1, [[2, [[3, queryParameter]]]]]]; // ParametersItem.parameter.non_body_parameter.query_parameter_sub_schema
  const gvk: Field[] = [[1, 'x-kubernetes-group-version-kind'], [2, [[2, `group: "${group}"\nkind: ${kind}\nversion: ${version}\n`]]]]; // NamedAny{name, value: Any{yaml}}
  return [[5, `patch${kind}`], [8, parametersItem], [13, gvk]]; // Operation: operation_id, parameters, vendor_extension
}

export function openApiV2Protobuf(): Buffer {
  const paths: Field[] = [];
  for (const { group, version } of groupVersions()) {
    for (const r of RESOURCE_TYPES.filter((t) => t.group === group && t.version === version && !t.createOnly)) {
      const prefix = group ? `/apis/${group}/${version}` : `/api/${version}`;
      const path = `${prefix}${r.namespaced ? '/namespaces/{namespace}' : ''}/${r.plural}/{name}`;
      paths.push([2, [[1, path], [2, [[8, patchOperation(group, version, r.kind)]]]]]); // Paths.path: NamedPathItem{name, value: PathItem{patch}}
    }
  }
  return encodeMessage([
    [1, '2.0'],
    [2, [[1, 'Kubernetes'], [2, 'v1.32.0']]],
    [8, paths],
  ]);
}
