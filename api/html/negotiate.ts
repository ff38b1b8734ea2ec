/**
 * Content negotiation as pygeoapi does it: `?f=html` or `?f=json` wins;
 * otherwise the Accept header, where HTML is chosen only when text/html is
 * preferred over application/json (browsers), so curl's `*\/*` and clients
 * that ask for JSON keep getting JSON. Pure.
 */
export type Format = 'html' | 'json';

export const FORMATS: readonly Format[] = ['html', 'json'];

interface Range {
  type: string;
  q: number;
}

function ranges(accept: string): Range[] {
  return accept
    .split(',')
    .map((part) => {
      const [type = '', ...params] = part.split(';').map((p) => p.trim().toLowerCase());
      const q = params.find((p) => p.startsWith('q='));
      const value = q ? Number(q.slice(2)) : 1;
      return { type, q: Number.isFinite(value) ? value : 0 };
    })
    .filter((r) => r.type);
}

/** The quality the Accept ranges give `type` (most specific range wins). */
function quality(list: Range[], type: string): number {
  const [major] = type.split('/');
  const exact = list.find((r) => r.type === type);
  if (exact) return exact.q;
  const partial = list.find((r) => r.type === `${major}/*`);
  if (partial) return partial.q;
  return list.find((r) => r.type === '*/*')?.q ?? 0;
}

/**
 * The format to answer in; `f` is the query parameter (already checked to be
 * one of FORMATS), `accept` the header.
 */
export function negotiateFormat(f: string | undefined, accept: string | undefined): Format {
  if (f === 'html' || f === 'json') return f;
  if (!accept) return 'json';
  const list = ranges(accept);
  const htmlQ = list.some((r) => r.type === 'text/html') ? quality(list, 'text/html') : 0;
  return htmlQ > 0 && htmlQ > quality(list, 'application/json') ? 'html' : 'json';
}
