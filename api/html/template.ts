/**
 * A tiny HTML template: `html` is a tagged template literal that escapes
 * every interpolated value unless it is already Html (another template, or
 * `raw` for trusted markup written in this code). Arrays are joined, and
 * undefined, null and false render as nothing, so conditionals read plainly.
 */
export class Html {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

export type Fragment = Html | string | number | boolean | null | undefined | Fragment[];

function render(value: Fragment): string {
  if (value === undefined || value === null || value === false) return '';
  if (value instanceof Html) return value.text;
  if (Array.isArray(value)) return value.map(render).join('');
  return escapeHtml(String(value));
}

export function html(strings: TemplateStringsArray, ...values: Fragment[]): Html {
  let out = strings[0]!;
  values.forEach((value, i) => {
    out += render(value) + strings[i + 1]!;
  });
  return new Html(out);
}

/** Trusted markup, not escaped: only for constants written in this code. */
export function raw(text: string): Html {
  return new Html(text);
}
