/**
 * Credentials the stand-in issues and checks:
 * - the administrator's bearer token (the kubeconfig's user: kubernetes-admin
 *   in system:masters, as kubeadm's admin.conf), random per cluster;
 * - ServiceAccount tokens as the TokenRequest API issues them: ES256-signed
 *   JWTs with the real claims (iss, sub, aud, exp, iat, nbf, jti and the
 *   `kubernetes.io` block naming the namespace and account with its uid), valid
 *   only while that account (same uid) exists.
 */
import { randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { errors as joseErrors, exportJWK, generateKeyPair, importJWK, jwtVerify, SignJWT, type CryptoKey, type JWK } from 'jose';
import { serviceAccountUsername, type UserInfo } from './rbac.js';

export const ISSUER = 'https://kubernetes.default.svc.cluster.local';
/** The API server's own audience: tokens without explicit audiences are for it. */
export const API_AUDIENCES = [ISSUER];
export const ADMIN_USER: UserInfo = { username: 'kubernetes-admin', groups: ['system:masters', 'system:authenticated'] };
/** TokenRequest limits (validation of spec.expirationSeconds). */
export const MIN_EXPIRATION_SECONDS = 600;
export const MAX_EXPIRATION_SECONDS = 2 ** 32;
export const DEFAULT_EXPIRATION_SECONDS = 3600;

export interface TokenSecrets {
  adminToken: string;
  signingKey: JWK;
}

export interface IssuedToken {
  token: string;
  expirationTimestamp: string;
}

/** Looks up a ServiceAccount's uid, or undefined when it does not exist. */
export type ServiceAccountLookup = (namespace: string, name: string) => string | undefined;

export type Authentication = { user: UserInfo; audiences: string[] } | { error: string };

interface ServiceAccountClaims {
  'kubernetes.io'?: { namespace?: unknown; serviceaccount?: { name?: unknown; uid?: unknown } };
}

export async function newTokenSecrets(): Promise<TokenSecrets> {
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  return { adminToken: randomBytes(32).toString('base64url'), signingKey: await exportJWK(privateKey) };
}

export function serviceAccountGroups(namespace: string): string[] {
  return ['system:serviceaccounts', `system:serviceaccounts:${namespace}`, 'system:authenticated'];
}

function sameSecret(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

function rfc3339(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export class TokenAuthority {
  private constructor(
    readonly secrets: TokenSecrets,
    private readonly privateKey: CryptoKey,
    private readonly publicKey: CryptoKey,
    private readonly lookup: ServiceAccountLookup,
    private readonly now: () => number,
  ) {}

  static async create(secrets: TokenSecrets, lookup: ServiceAccountLookup, now: () => number = Date.now): Promise<TokenAuthority> {
    const privateKey = (await importJWK(secrets.signingKey, 'ES256')) as CryptoKey;
    const { d: _private, ...publicJwk } = secrets.signingKey;
    const publicKey = (await importJWK(publicJwk, 'ES256')) as CryptoKey;
    return new TokenAuthority(secrets, privateKey, publicKey, lookup, now);
  }

  async issue(namespace: string, name: string, uid: string, audiences: string[], expirationSeconds: number): Promise<IssuedToken> {
    const issuedAt = Math.floor(this.now() / 1000);
    const expires = issuedAt + expirationSeconds;
    const token = await new SignJWT({ 'kubernetes.io': { namespace, serviceaccount: { name, uid } } })
      .setProtectedHeader({ alg: 'ES256', typ: 'JWT' })
      .setIssuer(ISSUER)
      .setSubject(serviceAccountUsername(namespace, name))
      .setAudience(audiences)
      .setIssuedAt(issuedAt)
      .setNotBefore(issuedAt)
      .setExpirationTime(expires)
      .setJti(randomUUID())
      .sign(this.privateKey);
    return { token, expirationTimestamp: rfc3339(expires) };
  }

  /**
   * Who a bearer token belongs to. `audiences` are those the caller accepts
   * (the API server's own by default); the answer names the ones that matched.
   */
  async authenticate(token: string, audiences: string[] = API_AUDIENCES): Promise<Authentication> {
    if (sameSecret(token, this.secrets.adminToken)) return { user: ADMIN_USER, audiences };
    if (token.split('.').length !== 3) return { error: 'invalid bearer token' };
    try {
      const { payload } = await jwtVerify<ServiceAccountClaims>(token, this.publicKey, {
        issuer: ISSUER,
        audience: audiences,
        algorithms: ['ES256'],
        currentDate: new Date(this.now()),
      });
      const claims = payload['kubernetes.io'];
      const namespace = claims?.namespace;
      const name = claims?.serviceaccount?.name;
      const uid = claims?.serviceaccount?.uid;
      if (typeof namespace !== 'string' || typeof name !== 'string' || typeof uid !== 'string') return { error: 'invalid bearer token: not a service account token' };
      const current = this.lookup(namespace, name);
      if (current === undefined) return { error: `invalid bearer token: service account ${namespace}/${name} has been deleted` };
      if (current !== uid) return { error: `invalid bearer token: service account UID (${uid}) does not match service account UID (${current}) in storage` };
      const tokenAudiences = Array.isArray(payload.aud) ? payload.aud : [payload.aud ?? ''];
      return {
        user: {
          username: serviceAccountUsername(namespace, name),
          uid,
          groups: serviceAccountGroups(namespace),
          extra: { 'authentication.kubernetes.io/credential-id': [`JTI=${payload.jti ?? ''}`] },
        },
        audiences: audiences.filter((a) => tokenAudiences.includes(a)),
      };
    } catch (error) {
      if (error instanceof joseErrors.JWTExpired) return { error: 'invalid bearer token: token has expired' };
      if (error instanceof joseErrors.JWTClaimValidationFailed) return { error: `invalid bearer token: ${error.message}` };
      return { error: 'invalid bearer token' };
    }
  }
}
