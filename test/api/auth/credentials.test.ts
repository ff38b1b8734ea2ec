/** Bearer headers, static tokens, the review cache and OIDC claim mapping: the pure parts. */
import t from 'tap';
import { bearerToken, credentialKey, matchStaticToken } from '../../../api/auth/bearer.js';
import { TtlCache } from '../../../api/auth/ttl-cache.js';
import { principalFromClaims } from '../../../api/auth/oidc-roles.js';
import { parseStaticTokens } from '../../../lib/config/auth-settings.js';

t.test('bearer header', async (t) => {
  t.equal(bearerToken(undefined), undefined, 'absent');
  t.equal(bearerToken('Bearer abc.DEF-_~+/=='), 'abc.DEF-_~+/==');
  t.equal(bearerToken('bearer   abc'), 'abc', 'scheme is case-insensitive');
  for (const bad of ['Basic dXNlcjpwYXNz', 'Bearer', 'Bearer a b', 'Bearer ä', `Bearer ${'a'.repeat(16_385)}`]) t.equal(bearerToken(bad), null, bad.slice(0, 20));
  t.equal(bearerToken(['Bearer a', 'Bearer b']), null, 'two headers');
});

t.test('static tokens', async (t) => {
  const tokens = parseStaticTokens('alice:user:alice-token-0123456789, olga:operator:olga:token:with:colons\n');
  t.same(tokens.map((x) => [x.name, x.role]), [['alice', 'user'], ['olga', 'operator']]);
  t.equal(tokens[1]!.token, 'olga:token:with:colons', 'the token is everything after the second colon');
  t.equal(matchStaticToken(tokens, 'alice-token-0123456789')?.name, 'alice');
  t.equal(matchStaticToken(tokens, 'olga:token:with:colons')?.role, 'operator');
  t.equal(matchStaticToken(tokens, 'alice-token-012345678'), undefined, 'a prefix is not the token');
  t.equal(matchStaticToken(tokens, ''), undefined);
  const cases: Array<[string, RegExp]> = [
    ['alice:user', /entry 1: must be name:role:token/],
    ['alice:admin:0123456789abcdefgh', /role must be one of user, operator/],
    ['alice:user:short', /entry 1 \(alice\): the token must have at least 16 characters/],
    ['a b:user:0123456789abcdefgh', /entry 1: must be name:role:token/],
    ['al/ice:user:0123456789abcdefgh', /name must be/],
    ['a:user:0123456789abcdefgh,a:user:0123456789abcdefgX', /the name a is given twice/],
    ['a:user:0123456789abcdefgh,b:user:0123456789abcdefgh', /entry 2 \(b\): the token is the same/],
  ];
  for (const [raw, message] of cases) {
    t.throws(() => parseStaticTokens(raw), message, raw);
    try {
      parseStaticTokens(raw);
    } catch (error) {
      t.notMatch((error as Error).message, /0123456789abcdef/, 'no token in the message');
    }
  }
});

t.test('credential keys never hold the token', async (t) => {
  const key = credentialKey('secret-token-value');
  t.notMatch(key, /secret/);
  t.equal(key, credentialKey('secret-token-value'));
  t.not(key, credentialKey('secret-token-valuf'));
});

t.test('review cache: least recently used go first, entries expire', async (t) => {
  let now = 0;
  const cache = new TtlCache<number>(2, 1000, () => now);
  cache.set('a', 1);
  cache.set('b', 2);
  t.equal(cache.get('a'), 1, 'a used, so b is now the least recently used');
  cache.set('c', 3);
  t.equal(cache.size, 2);
  t.equal(cache.get('b'), undefined, 'b evicted');
  t.equal(cache.get('a'), 1);
  now = 1000;
  t.equal(cache.get('a'), undefined, 'expired');
  const off = new TtlCache<number>(2, 0, () => now);
  off.set('a', 1);
  t.equal(off.get('a'), undefined, 'a TTL of 0 caches nothing');
});

t.test('OIDC claims to principal', async (t) => {
  const mapping = { usernameClaim: 'sub', rolesClaim: 'groups', operatorRoles: ['ops'], userRoles: [] };
  t.same(principalFromClaims({ sub: 'u1', groups: ['ops', 'x'] }, mapping), { principal: { subject: 'u1', role: 'operator' } });
  t.same(principalFromClaims({ sub: 'u1' }, mapping), { principal: { subject: 'u1', role: 'user' } }, 'no user roles configured: any valid token is a user');
  t.same(principalFromClaims({ sub: 'u1', groups: 'ops other' }, mapping), { principal: { subject: 'u1', role: 'operator' } }, 'a space-separated string');
  t.match(principalFromClaims({ groups: ['ops'] }, mapping), { problem: /no sub claim/ });
  const restricted = { usernameClaim: 'preferred_username', rolesClaim: 'realm_access.roles', operatorRoles: ['ops'], userRoles: ['scientist'] };
  t.same(principalFromClaims({ preferred_username: 'ann', realm_access: { roles: ['scientist'] } }, restricted), { principal: { subject: 'ann', role: 'user' } }, 'dotted claim');
  t.same(principalFromClaims({ preferred_username: 'ann', realm_access: { roles: ['guest'] } }, restricted), { principal: { subject: 'ann' } }, 'known, but no role');
  t.same(principalFromClaims({ preferred_username: 'ann', realm_access: 'x' }, restricted), { principal: { subject: 'ann' } });
});
