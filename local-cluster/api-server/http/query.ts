/**
 * Query parameters decoded as the real server decodes them into
 * metav1.ListOptions/DeleteOptions/…: booleans by apimachinery's
 * Convert_Slice_string_To_bool — absent, "0" or "false" (any case) is false,
 * every other value (`true`, `True`, `1`, even an empty `?watch=`) is true.
 */
export function queryBool(query: URLSearchParams, name: string): boolean | undefined {
  const values = query.getAll(name);
  if (values.length === 0) return undefined;
  const first = values[0]!;
  return !(first === '0' || first.toLowerCase() === 'false');
}
