/** The access-control variables: what each mode needs, bad values named, tokens never shown. */
import { inspect } from 'node:util';
import t from 'tap';
import { ConfigError, readSettings, REDACTED, type Env } from '../../lib/config/index.js';

const V = 'PYGEOAPI_K8S_MANAGER_';

function problemsOf(env: Env): string[] {
  try {
    readSettings(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

t.test('every mode, with what it needs', async (t) => {
  t.equal(readSettings({}).auth.mode, 'kubernetes', 'the default: Kubernetes tokens and RBAC, never none');
  t.equal(readSettings({ [`${V}AUTH_MODE`]: 'none' }).auth.mode, 'none');
  const token = readSettings({ [`${V}AUTH_MODE`]: 'token', [`${V}AUTH_TOKENS`]: 'ci:operator:0123456789abcdefXYZ' });
  t.same(token.secrets.authTokens?.map((x) => x.name), ['ci']);
  const oidc = readSettings({
    [`${V}AUTH_MODE`]: 'oidc',
    [`${V}OIDC_ISSUER`]: 'https://id.example.org/realms/geo/',
    [`${V}OIDC_AUDIENCE`]: 'api',
    [`${V}OIDC_OPERATOR_ROLES`]: 'ops, admins',
    [`${V}OIDC_ROLES_CLAIM`]: 'realm_access.roles',
  });
  t.match(oidc.auth.oidc, { issuer: 'https://id.example.org/realms/geo', audience: 'api', operatorRoles: ['ops', 'admins'], rolesClaim: 'realm_access.roles' });
  t.equal(readSettings({ [`${V}AUTH_PUBLIC_DISCOVERY`]: 'false', [`${V}AUTH_OWNER_CHECK`]: 'no' }).auth.publicDiscovery, false);
  t.same(readSettings({ [`${V}TRUSTED_JOB_CREATORS`]: 'a, b' }).trustedJobCreators, ['a', 'b']);
});

t.test('bad or missing values name the variable, never a token', async (t) => {
  const cases: Array<[Env, string]> = [
    [{ [`${V}AUTH_MODE`]: 'anonymous' }, `${V}AUTH_MODE: must be one of kubernetes, oidc, token, none (got "anonymous")`],
    [{ [`${V}AUTH_MODE`]: 'token' }, `${V}AUTH_TOKENS: required when ${V}AUTH_MODE is token`],
    [{ [`${V}AUTH_TOKENS`]: 'ci:root:0123456789abcdefXYZ' }, `${V}AUTH_TOKENS: entry 1 (ci): the role must be one of user, operator`],
    [{ [`${V}AUTH_MODE`]: 'oidc', [`${V}OIDC_AUDIENCE`]: 'api' }, `${V}OIDC_ISSUER: required when ${V}AUTH_MODE is oidc`],
    [{ [`${V}AUTH_MODE`]: 'oidc', [`${V}OIDC_ISSUER`]: 'https://id.example.org' }, `${V}OIDC_AUDIENCE: required when ${V}AUTH_MODE is oidc`],
    [{ [`${V}OIDC_ISSUER`]: 'http://id.example.org' }, `${V}OIDC_ISSUER: must be an https URL (http only for localhost) (got "http://id.example.org")`],
    [{ [`${V}OIDC_JWKS_URI`]: 'ftp://x' }, `${V}OIDC_JWKS_URI: must be an https URL (http only for localhost) (got "ftp://x")`],
    [{ [`${V}AUTH_CACHE_SECONDS`]: '-1' }, `${V}AUTH_CACHE_SECONDS: must be a whole number of seconds (got "-1")`],
  ];
  for (const [env, problem] of cases) t.same(problemsOf(env), [problem], problem);
  t.ok(readSettings({ [`${V}OIDC_ISSUER`]: 'http://127.0.0.1:8080/realm' }).auth.oidc.issuer, 'plain http on loopback');
  const settings = readSettings({ [`${V}AUTH_TOKENS`]: 'ci:user:hunter2hunter2hunter2' });
  t.notMatch(JSON.stringify(settings), /hunter2/);
  t.notMatch(inspect(settings, { depth: 10 }), /hunter2/);
  t.match(JSON.stringify(settings.secrets), REDACTED);
});
