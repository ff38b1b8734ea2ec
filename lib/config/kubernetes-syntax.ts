/**
 * Kubernetes name and quantity syntax, so that a configuration the API
 * server would reject fails at start-up instead of at the first job.
 */

/** A label value: at most 63 characters, alphanumeric at both ends, `-_.` inside. */
export const LABEL_VALUE_PATTERN = '^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$';
export const LABEL_VALUE_RULE =
  'at most 63 characters: letters, digits, "-", "_" or ".", starting and ending with a letter or digit';

export const LABEL_VALUE_OR_EMPTY_PATTERN = '^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$';

/** RFC 1123 label (volume and container names). */
export const DNS_LABEL_PATTERN = '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$';
export const DNS_LABEL_RULE =
  'at most 63 characters: lower-case letters, digits or "-", starting and ending with a letter or digit';

/** RFC 1123 subdomain (secret, claim and service account names). */
export const DNS_SUBDOMAIN_PATTERN = '^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$';
export const DNS_SUBDOMAIN_RULE =
  'at most 253 characters: lower-case letters, digits, "-" or ".", starting and ending with a letter or digit';

/** Label key for node selectors: optional DNS-subdomain prefix and `/`, then a label-value-like name. */
export const LABEL_KEY_PATTERN =
  '^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$';

export const ENV_NAME_PATTERN = '^[-._a-zA-Z][-._a-zA-Z0-9]*$';
export const SECRET_KEY_PATTERN = '^[-._a-zA-Z0-9]{1,253}$';

/** Unsigned: requests, limits and size limits are never negative. */
const QUANTITY = /^((?:[0-9]+\.?[0-9]*|\.[0-9]+))(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?[0-9]+)?$/;
export const QUANTITY_PATTERN = QUANTITY.source;

const SUFFIX_FACTOR: Readonly<Record<string, number>> = {
  Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60,
  n: 1e-9, u: 1e-6, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
};

/** The numeric value of a Kubernetes quantity such as `500m` or `1.5Gi`, or undefined if it is not one. */
export function parseQuantity(text: string): number | undefined {
  const match = QUANTITY.exec(text);
  if (!match) return undefined;
  const [, number, suffix = ''] = match;
  const factor = suffix === '' ? 1 : /^[eE][+-]?[0-9]/.test(suffix) ? 10 ** Number(suffix.slice(1)) : SUFFIX_FACTOR[suffix];
  return Number(number) * factor;
}
