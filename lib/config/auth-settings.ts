/**
 * Readers for the access-control variables of the env table: the
 * authentication mode and the static bearer tokens of `token` mode. Pure.
 */

export type AuthMode = 'none' | 'token' | 'oidc' | 'kubernetes';
export const AUTH_MODES: readonly AuthMode[] = ['kubernetes', 'oidc', 'token', 'none'];

export type Role = 'user' | 'operator';
export const ROLES: readonly Role[] = ['user', 'operator'];

/** One static bearer token of `token` mode: who it is (the job owner) and what it may do. */
export interface StaticToken {
  readonly name: string;
  readonly role: Role;
  readonly token: string;
}

/** Tokens shorter than this are guessable; they are refused at start-up. */
export const MIN_TOKEN_LENGTH = 16;
const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._@:-]{0,127}$/;

/**
 * `name:role:token` entries separated by commas, spaces or newlines (the
 * token is everything after the second colon). Errors never quote a token.
 */
export function parseStaticTokens(raw: string): StaticToken[] {
  const entries = raw.split(/[\s,]+/).filter((e) => e !== '');
  const tokens: StaticToken[] = [];
  entries.forEach((entry, index) => {
    const at = `entry ${index + 1}`;
    const first = entry.indexOf(':');
    const second = first < 0 ? -1 : entry.indexOf(':', first + 1);
    if (second < 0) throw new Error(`${at}: must be name:role:token`);
    const name = entry.slice(0, first);
    const role = entry.slice(first + 1, second);
    const token = entry.slice(second + 1);
    if (!NAME_PATTERN.test(name)) throw new Error(`${at}: the name must be letters, digits and . _ @ : - (at most 128)`);
    if (!(ROLES as readonly string[]).includes(role)) throw new Error(`${at} (${name}): the role must be one of ${ROLES.join(', ')}`);
    if (token.length < MIN_TOKEN_LENGTH) throw new Error(`${at} (${name}): the token must have at least ${MIN_TOKEN_LENGTH} characters`);
    if (tokens.some((t) => t.name === name)) throw new Error(`${at}: the name ${name} is given twice`);
    if (tokens.some((t) => t.token === token)) throw new Error(`${at} (${name}): the token is the same as another entry's`);
    tokens.push(Object.freeze({ name, role: role as Role, token }));
  });
  return tokens;
}

/** A comma-separated list; blanks dropped. */
export function parseList(raw: string): string[] {
  return raw.split(',').map((s) => s.trim()).filter((s) => s !== '');
}
