/**
 * `oidc` mode's I/O edge: verifying bearer JWTs against the issuer's keys
 * with jose. Keys are fetched from the JWKS (found through the issuer's
 * discovery document unless configured), cached, and refetched for an unknown
 * `kid` at most once per cooldown, so forged kids cannot make us hammer the
 * issuer.
 */
import type { JWTVerifyGetKey } from 'jose';
import type { AuthSettings } from '../../lib/config/types.js';
import { unavailable } from '../ogc/exceptions.js';
import { principalFromClaims, type ClaimVerdict } from './oidc-roles.js';

/** An unknown kid refetches the keys at most this often. */
const KEY_REFETCH_COOLDOWN_MS = 30_000;
/** Keys are refetched at least this often, so a removed key stops working. */
const KEY_MAX_AGE_MS = 10 * 60_000;
const FETCH_TIMEOUT_MS = 5_000;

/** Errors that mean "this token is not valid" (401), as opposed to "the issuer cannot be reached" (503). */
const INVALID_TOKEN = new Set([
  'ERR_JWT_EXPIRED',
  'ERR_JWT_CLAIM_VALIDATION_FAILED',
  'ERR_JWT_INVALID',
  'ERR_JWS_INVALID',
  'ERR_JWS_SIGNATURE_VERIFICATION_FAILED',
  'ERR_JWKS_NO_MATCHING_KEY',
  'ERR_JWKS_MULTIPLE_MATCHING_KEYS',
  'ERR_JOSE_ALG_NOT_ALLOWED',
  'ERR_JOSE_NOT_SUPPORTED',
]);

/** jose (46 modules, ~10 MB RSS) is loaded by the first token to verify: a server in another auth mode never holds it. */
let joseModule: Promise<typeof import('jose')> | undefined;
const jose = (): Promise<typeof import('jose')> => (joseModule ??= import('jose'));

export class OidcVerifier {
  private keys: JWTVerifyGetKey | undefined;

  constructor(
    private readonly settings: AuthSettings['oidc'],
    private readonly cooldownMs = KEY_REFETCH_COOLDOWN_MS,
  ) {}

  /** The principal, or the reason the token is refused; throws 503 when the issuer's keys cannot be had. */
  async verify(token: string): Promise<ClaimVerdict> {
    const keys = await this.keySet();
    const { errors, jwtVerify } = await jose();
    try {
      const { payload } = await jwtVerify(token, keys, {
        issuer: this.settings.issuer!,
        audience: this.settings.audience!,
        clockTolerance: this.settings.clockSkewSeconds,
        requiredClaims: ['exp'],
      });
      return principalFromClaims(payload, this.settings);
    } catch (error) {
      const code = error instanceof errors.JOSEError ? error.code : undefined;
      if (code !== undefined && INVALID_TOKEN.has(code)) return { problem: `the token is not valid (${code})` };
      throw unavailable(`the identity provider's keys could not be fetched (${code ?? (error as Error).message})`);
    }
  }

  private async keySet(): Promise<JWTVerifyGetKey> {
    if (this.keys) return this.keys;
    const uri = this.settings.jwksUri ?? (await this.discoverJwksUri());
    const { createRemoteJWKSet } = await jose();
    this.keys = createRemoteJWKSet(new URL(uri), {
      cooldownDuration: this.cooldownMs,
      cacheMaxAge: KEY_MAX_AGE_MS,
      timeoutDuration: FETCH_TIMEOUT_MS,
    });
    return this.keys;
  }

  private async discoverJwksUri(): Promise<string> {
    const issuer = this.settings.issuer!;
    const where = `${issuer}/.well-known/openid-configuration`;
    let document: { issuer?: unknown; jwks_uri?: unknown };
    try {
      const response = await fetch(where, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS), redirect: 'error' });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      document = (await response.json()) as typeof document;
    } catch (error) {
      throw unavailable(`the identity provider's discovery document ${where} could not be read (${(error as Error).message})`);
    }
    // OpenID Connect Discovery 1.0 §4.3: the document must name the issuer it was fetched for.
    if (document.issuer !== issuer || typeof document.jwks_uri !== 'string') {
      throw unavailable(`the discovery document ${where} does not name issuer ${issuer} with a jwks_uri`);
    }
    return document.jwks_uri;
  }
}
