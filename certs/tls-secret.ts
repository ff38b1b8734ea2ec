/**
 * Where the webhook's TLS material lives: two Secrets that every replica
 * converges on (create-or-adopt, renewal under optimistic concurrency), the
 * caBundle of our MutatingWebhookConfiguration, or files mounted by
 * cert-manager.
 *
 * - The serving Secret (`kubernetes.io/tls`: `tls.crt`, `tls.key`, `ca.crt`)
 *   is what the webhook serves with.
 * - The CA Secret (`kubernetes.io/tls`: the CA's `tls.crt` and `tls.key`, the
 *   layout of a cert-manager CA Issuer's Secret) holds the CA private key, so
 *   that whichever replica finds the serving certificate due can re-issue it
 *   under the same CA without changing the caBundle. It is kept apart so that
 *   whoever may read the serving Secret does not get the key that signs
 *   certificates; the webhook's RBAC names both Secrets and no other.
 *
 * Earlier versions kept `ca.key` in the serving Secret; such a Secret is
 * migrated on first contact: the CA goes into the CA Secret (unless one is
 * there), then the key is removed from the serving Secret.
 *
 * `ca.crt` may hold several certificates: the first is the active CA (the one
 * in the CA Secret); after a CA roll the previous CA follows it until the
 * next renewal, so certificates of the old CA stay trusted meanwhile.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { V1MutatingWebhookConfiguration, V1Secret } from '@kubernetes/client-node';
import { isApiError, type KubeHttp } from '../lib/kube/http.js';
import { type CertificateAndKey, createCertificateAuthority, createServingCertificate, serviceDnsNames } from './generate.js';
import {
  caBundleFor,
  coversDnsNames,
  DEFAULT_RENEWAL_POLICY,
  parseCertificate,
  renewalDue,
  type RenewalPolicy,
  splitPemBundle,
} from './rotation.js';

/** Marks Secrets this module issued and may therefore renew; any other Secret is only ever read. */
export const TLS_SECRET_MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const TLS_SECRET_MANAGED_BY = 'k8s-job-manager';

const SECRET_KEYS = { cert: 'tls.crt', key: 'tls.key', ca: 'ca.crt' } as const;
/** Where earlier versions kept the CA key: in the serving Secret. */
const LEGACY_CA_KEY = 'ca.key';

/** The CA Secret's name when none is given: the serving Secret's name plus `-ca`. */
export const caSecretNameFor = (servingSecretName: string): string => `${servingSecretName}-ca`;

/** What a TLS server needs: PEM key and certificate, and the CA bundle clients should trust. */
export interface TlsMaterial {
  key: string;
  cert: string;
  ca: string;
}

/** The one client stack's JSON calls (lib/kube/http.ts); tests may stand in for it. */
export type KubeRequests = Pick<KubeHttp, 'request'>;

export interface EnsureTlsSecretOptions {
  namespace: string;
  /** The serving Secret. */
  name: string;
  /** The CA Secret; default `<name>-ca`. */
  caSecretName?: string;
  /** The webhook Service, assumed to live in `namespace`. */
  serviceName: string;
  extraDnsNames?: string[];
  extraIps?: string[];
  caCommonName?: string;
  renewal?: RenewalPolicy;
  now?: () => Date;
  /** Reads after a lost race before giving up (409 Conflict/AlreadyExists each time). */
  maxAttempts?: number;
}

export interface EnsureTlsSecretResult {
  material: TlsMaterial;
  /** existing: a usable Secret was there (possibly written by a replica that won the race). */
  action: 'created' | 'renewed' | 'existing';
  /** The serving Secret held the CA key (an earlier version's layout) and was migrated. */
  migrated: boolean;
}

export async function ensureTlsSecret(kube: KubeRequests, options: EnsureTlsSecretOptions): Promise<EnsureTlsSecretResult> {
  const { namespace, name } = options;
  const caName = options.caSecretName ?? caSecretNameFor(name);
  const maxAttempts = options.maxAttempts ?? 5;
  const wanted = {
    dnsNames: [...serviceDnsNames(options.serviceName, namespace), ...(options.extraDnsNames ?? [])],
    ips: options.extraIps ?? [],
    renewal: options.renewal ?? DEFAULT_RENEWAL_POLICY,
  };
  let migrated = false;
  for (let attempt = 1; ; attempt++) {
    const now = options.now?.() ?? new Date();
    const existing = await readSecret(kube, namespace, name);
    const caSecret = await readSecret(kube, namespace, caName);
    try {
      if (existing !== undefined && isOurs(existing) && existing.data?.[LEGACY_CA_KEY] !== undefined) {
        await migrateCaKey(kube, existing, caSecret, { namespace, caName });
        migrated = true;
        continue;
      }
      const verdict = judgeTlsSecret(existing, caSecret, wanted, now);
      if (verdict.kind === 'use') return { material: verdict.material, action: 'existing', migrated };

      const issued = issueTlsMaterial(verdict, options, now);
      if (issued.newCa) await writeSecret(kube, namespace, caSecret, caSecretBody(caSecret, { namespace, name: caName }, issued.newCa));
      await writeSecret(kube, namespace, existing, servingSecretBody(existing, options, issued.material));
      return { material: issued.material, action: existing === undefined ? 'created' : 'renewed', migrated };
    } catch (error) {
      // Another replica created or renewed one of them first: read again and adopt the winner's.
      if (!isApiError(error, 409) || attempt >= maxAttempts) throw error;
    }
  }
}

export type TlsSecretVerdict =
  | { kind: 'use'; material: TlsMaterial }
  /**
   * Issue a new serving certificate: under `ca` when it is still good, else
   * under a new CA; `previousCaPem` stays in the bundle meanwhile.
   */
  | { kind: 'issue'; reason: string; ca?: CertificateAndKey; previousCaPem?: string };

/**
 * What to do with the serving Secret and the CA Secret as read. Throws for a
 * foreign serving Secret that holds no usable material, and for a foreign CA
 * Secret (it is never overwritten).
 */
export function judgeTlsSecret(
  secret: V1Secret | undefined,
  caSecret: V1Secret | undefined,
  wanted: { dnsNames: string[]; ips?: string[]; renewal: RenewalPolicy },
  now: Date,
): TlsSecretVerdict {
  const data = secret ? decodeSecretData(secret) : {};
  const servable = isServable(data);
  if (secret !== undefined && !isOurs(secret)) {
    // Someone else's (cert-manager, an operator's own): use as is, never rewrite.
    if (servable) return { kind: 'use', material: servable };
    throw new Error(`Secret ${whereIs(secret)} is not managed by ${TLS_SECRET_MANAGED_BY} and holds no usable TLS key pair`);
  }
  if (caSecret !== undefined && !isOurs(caSecret)) {
    throw new Error(`Secret ${whereIs(caSecret)} (the webhook's CA) is not managed by ${TLS_SECRET_MANAGED_BY}; remove it or name another with --webhook-ca-secret`);
  }

  const activeCa = caSecret ? usableCa(decodeSecretData(caSecret)) : undefined;
  const bundleHead = data.ca !== undefined ? splitPemBundle(data.ca)[0] : undefined;
  const unexpired = (pem: string | undefined): string | undefined => (pem !== undefined && (expiryOf(pem)?.getTime() ?? 0) > now.getTime() ? pem : undefined);
  if (activeCa === undefined || renewalDue(activeCa.certPem, now, wanted.renewal)) {
    // A fresh CA; the one clients trust now (if readable and unexpired) stays trusted alongside it.
    const previous = unexpired(activeCa?.certPem ?? bundleHead);
    return { kind: 'issue', reason: activeCa ? 'CA due for renewal' : 'no usable CA', ...(previous ? { previousCaPem: previous } : {}) };
  }
  if (secret === undefined) return { kind: 'issue', reason: 'missing', ca: activeCa };
  if (!servable) return { kind: 'issue', reason: 'no usable key pair', ca: activeCa };
  const served = new X509Certificate(servable.cert);
  if (!served.checkIssued(new X509Certificate(activeCa.certPem))) {
    // A CA roll whose serving Secret was not written yet: replicas still serve the old CA's certificate, keep trusting it.
    const previous = bundleHead !== activeCa.certPem ? unexpired(bundleHead) : undefined;
    return { kind: 'issue', reason: 'certificate not issued by the active CA', ca: activeCa, ...(previous ? { previousCaPem: previous } : {}) };
  }
  const coversIps = (wanted.ips ?? []).every((ip) => served.checkIP(ip) !== undefined);
  if (!coversDnsNames(servable.cert, wanted.dnsNames) || !coversIps) return { kind: 'issue', reason: 'names changed', ca: activeCa };
  if (renewalDue(servable.cert, now, wanted.renewal)) return { kind: 'issue', reason: 'certificate due for renewal', ca: activeCa };
  return { kind: 'use', material: servable };
}

function issueTlsMaterial(
  verdict: Extract<TlsSecretVerdict, { kind: 'issue' }>,
  options: EnsureTlsSecretOptions,
  now: Date,
): { material: TlsMaterial; newCa?: CertificateAndKey } {
  const newCa = verdict.ca ? undefined : createCertificateAuthority({ commonName: options.caCommonName ?? `${options.serviceName}-ca`, now });
  const ca = verdict.ca ?? newCa!;
  const leaf = createServingCertificate({
    ca,
    serviceName: options.serviceName,
    namespace: options.namespace,
    extraDnsNames: options.extraDnsNames ?? [],
    extraIps: options.extraIps ?? [],
    now,
  });
  // A plain renewal drops any previous CA: the roll it overlapped is a renewal period behind.
  const material = { key: leaf.keyPem, cert: leaf.certPem, ca: caBundleFor(ca.certPem, verdict.previousCaPem) };
  return newCa ? { material, newCa } : { material };
}

/**
 * An earlier version's serving Secret with `ca.key`: its CA becomes the CA
 * Secret (unless there is one already, which then wins), then the key is
 * removed from the serving Secret. Each write is guarded by what was read.
 */
async function migrateCaKey(kube: KubeRequests, serving: V1Secret, caSecret: V1Secret | undefined, where: { namespace: string; caName: string }): Promise<void> {
  const data = decodeSecretData(serving);
  const legacyKey = Buffer.from(serving.data?.[LEGACY_CA_KEY] ?? '', 'base64').toString('utf8');
  const legacyCa = usableCa({ cert: data.ca !== undefined ? splitPemBundle(data.ca)[0] : undefined, key: legacyKey });
  if (caSecret === undefined && legacyCa !== undefined) {
    await writeSecret(kube, where.namespace, undefined, caSecretBody(undefined, { namespace: where.namespace, name: where.caName }, legacyCa));
  }
  const rest = Object.fromEntries(Object.entries(serving.data ?? {}).filter(([key]) => key !== LEGACY_CA_KEY));
  await writeSecret(kube, where.namespace, serving, { ...serving, data: rest });
}

function labelled(metadata: V1Secret['metadata'] | undefined, fallback: { namespace: string; name: string }): NonNullable<V1Secret['metadata']> {
  const base = metadata ?? { name: fallback.name, namespace: fallback.namespace };
  return { ...base, labels: { ...base.labels, [TLS_SECRET_MANAGED_BY_LABEL]: TLS_SECRET_MANAGED_BY } };
}

const encode = (text: string): string => Buffer.from(text).toString('base64');

function servingSecretBody(existing: V1Secret | undefined, options: EnsureTlsSecretOptions, material: TlsMaterial): V1Secret {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: labelled(existing?.metadata, options),
    type: 'kubernetes.io/tls',
    data: { [SECRET_KEYS.cert]: encode(material.cert), [SECRET_KEYS.key]: encode(material.key), [SECRET_KEYS.ca]: encode(material.ca) },
  };
}

function caSecretBody(existing: V1Secret | undefined, where: { namespace: string; name: string }, ca: CertificateAndKey): V1Secret {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: labelled(existing?.metadata, where),
    type: 'kubernetes.io/tls',
    data: { [SECRET_KEYS.cert]: encode(ca.certPem), [SECRET_KEYS.key]: encode(ca.keyPem) },
  };
}

type SecretData = Partial<Record<keyof typeof SECRET_KEYS, string>>;

function decodeSecretData(secret: V1Secret): SecretData {
  const decoded: SecretData = {};
  for (const [field, key] of Object.entries(SECRET_KEYS) as Array<[keyof typeof SECRET_KEYS, string]>) {
    const value = secret.data?.[key];
    if (value !== undefined) decoded[field] = Buffer.from(value, 'base64').toString('utf8');
  }
  return decoded;
}

const isOurs = (secret: V1Secret): boolean => secret.metadata?.labels?.[TLS_SECRET_MANAGED_BY_LABEL] === TLS_SECRET_MANAGED_BY;
const whereIs = (secret: V1Secret): string => `${secret.metadata?.namespace ?? ''}/${secret.metadata?.name ?? ''}`;

/** The key pair (and CA bundle, possibly empty) when the key parses and belongs to the certificate. */
function isServable(data: SecretData): TlsMaterial | undefined {
  if (data.cert === undefined || data.key === undefined) return undefined;
  if (!keyMatches(data.cert, data.key)) return undefined;
  return { cert: data.cert, key: data.key, ca: data.ca ?? '' };
}

/** A CA certificate with its key (a CA Secret's tls.crt/tls.key). */
function usableCa(data: { cert?: string | undefined; key?: string | undefined }): CertificateAndKey | undefined {
  const certPem = data.cert !== undefined ? splitPemBundle(data.cert)[0] : undefined;
  if (certPem === undefined || data.key === undefined || !keyMatches(certPem, data.key)) return undefined;
  return new X509Certificate(certPem).ca ? { certPem, keyPem: data.key } : undefined;
}

function expiryOf(certPem: string): Date | undefined {
  try {
    return parseCertificate(certPem).notAfter;
  } catch {
    return undefined;
  }
}

function keyMatches(certPem: string, keyPem: string): boolean {
  try {
    return new X509Certificate(certPem).checkPrivateKey(createPrivateKey(keyPem));
  } catch {
    return false;
  }
}

const secretsPath = (namespace: string): string => `/api/v1/namespaces/${encodeURIComponent(namespace)}/secrets`;

async function readSecret(kube: KubeRequests, namespace: string, name: string): Promise<V1Secret | undefined> {
  try {
    return await kube.request<V1Secret>({ path: `${secretsPath(namespace)}/${encodeURIComponent(name)}` });
  } catch (error) {
    if (isApiError(error, 404)) return undefined;
    throw error;
  }
}

/** Creates the Secret when none was read, else replaces it under the read resourceVersion (a compare-and-swap). */
async function writeSecret(kube: KubeRequests, namespace: string, read: V1Secret | undefined, body: V1Secret): Promise<void> {
  const name = body.metadata?.name ?? '';
  if (read === undefined) await kube.request({ method: 'POST', path: secretsPath(namespace), body });
  else await kube.request({ method: 'PUT', path: `${secretsPath(namespace)}/${encodeURIComponent(name)}`, body });
}

export type CaBundlePatchOp = { op: 'test'; path: string; value: string } | { op: 'add'; path: string; value: string };

/**
 * The JSON Patch that sets every webhook's caBundle (base64 PEM) that differs.
 * Each write is guarded by a `test` of that webhook's name, so a list
 * reordered since the read fails the patch instead of hitting a wrong entry.
 */
export function caBundlePatch(config: V1MutatingWebhookConfiguration, caBundleBase64: string): CaBundlePatchOp[] {
  return (config.webhooks ?? []).flatMap((webhook, index): CaBundlePatchOp[] =>
    webhook.clientConfig?.caBundle === caBundleBase64
      ? []
      : [
          { op: 'test', path: `/webhooks/${index}/name`, value: webhook.name },
          { op: 'add', path: `/webhooks/${index}/clientConfig/caBundle`, value: caBundleBase64 },
        ],
  );
}

const webhookConfigurationPath = (name: string): string =>
  `/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/${encodeURIComponent(name)}`;

/**
 * Points our MutatingWebhookConfiguration (only that one, by name) at this CA
 * bundle. Returns whether anything changed. A failed guard (the list changed
 * between read and patch: 409 or 422) is retried from a fresh read.
 */
export async function patchWebhookCaBundle(kube: KubeRequests, configName: string, caBundlePem: string, maxAttempts = 5): Promise<boolean> {
  const caBundle = Buffer.from(caBundlePem).toString('base64');
  for (let attempt = 1; ; attempt++) {
    const config = await kube.request<V1MutatingWebhookConfiguration>({ path: webhookConfigurationPath(configName) });
    const patch = caBundlePatch(config, caBundle);
    if (patch.length === 0) return false;
    try {
      await kube.request({ method: 'PATCH', path: webhookConfigurationPath(configName), body: patch, contentType: 'application/json-patch+json' });
      return true;
    } catch (error) {
      if (!isApiError(error, 409, 422) || attempt >= maxAttempts) throw error;
    }
  }
}

/**
 * TLS material as cert-manager (or any Secret volume) mounts it: `tls.crt`,
 * `tls.key`, and `ca.crt` when the issuer provides one.
 */
export async function loadTlsFromFiles(dir: string): Promise<{ key: string; cert: string; ca: string | undefined }> {
  const [cert, key, ca] = await Promise.all([
    readFile(join(dir, SECRET_KEYS.cert), 'utf8'),
    readFile(join(dir, SECRET_KEYS.key), 'utf8'),
    readFile(join(dir, SECRET_KEYS.ca), 'utf8').catch((error: unknown) => {
      if (isErrnoException(error) && error.code === 'ENOENT') return undefined;
      throw error;
    }),
  ]);
  return { key, cert, ca };
}

function isErrnoException(error: unknown): error is NodeJS.ErrnoException {
  return error instanceof Error && 'code' in error;
}
