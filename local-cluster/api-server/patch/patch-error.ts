/**
 * A patch the apiserver refuses. `status` is the HTTP status the real kube-apiserver answers
 * with: 400 BadRequest for a malformed patch document, 422 Unprocessable Entity when a
 * well-formed patch cannot be applied to the object.
 */
export class PatchError extends Error {
  constructor(
    message: string,
    readonly status: 400 | 422,
  ) {
    super(message);
    this.name = 'PatchError';
  }
}

/** The JSON type name Go's encoding/json reports in an UnmarshalTypeError. */
function goJsonKind(value: unknown): string {
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'boolean') return 'bool';
  return typeof value;
}

/** The 400 the apiserver gives a patch body of the wrong JSON type, in Go's decoder's words. */
export function undecodablePatch(value: unknown, goType: string): PatchError {
  return new PatchError(`json: cannot unmarshal ${goJsonKind(value)} into Go value of type ${goType}`, 400);
}
