/**
 * Where the webhook's TLS material lives: a `kubernetes.io/tls` Secret that
 * every replica converges on (create-or-adopt, renewal under optimistic
 * concurrency), the caBundle of our MutatingWebhookConfiguration, or files
 * mounted by cert-manager.
 *
 * The Secret also holds `ca.key`, so that whichever replica finds the serving
 * certificate due can re-issue it under the same CA without changing the
 * caBundle. That key is trusted only by our webhook configuration, so reading
 * it grants no more than reading `tls.key` already does: impersonating the
 * webhook. Restrict Secret reads in the namespace accordingly.
 *
 * `ca.crt` may hold several certificates: the first is the active CA (the one
 * `ca.key` belongs to); after a CA roll the previous CA follows it until the
 * next renewal, so certificates of the old CA stay trusted meanwhile.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type AdmissionregistrationV1Api,
  type CoreV1Api,
  PatchStrategy,
  setHeaderOptions,
  type V1MutatingWebhookConfiguration,
  type V1Secret,
} from '@kubernetes/client-node';
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

const SECRET_KEYS = { cert: 'tls.crt', key: 'tls.key', ca: 'ca.crt', caKey: 'ca.key' } as const;

/** What a TLS server needs: PEM key and certificate, and the CA bundle clients should trust. */
export interface TlsMaterial {
  key: string;
  cert: string;
  ca: string;
}

export type SecretsApi = Pick<CoreV1Api, 'readNamespacedSecret' | 'createNamespacedSecret' | 'replaceNamespacedSecret'>;
export type WebhookConfigApi = Pick<
  AdmissionregistrationV1Api,
  'readMutatingWebhookConfiguration' | 'patchMutatingWebhookConfiguration'
>;

export interface EnsureTlsSecretOptions {
  namespace: string;
  name: string;
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
}

export async function ensureTlsSecret(api: SecretsApi, options: EnsureTlsSecretOptions): Promise<EnsureTlsSecretResult> {
  const { namespace, name } = options;
  const maxAttempts = options.maxAttempts ?? 5;
  const wanted = {
    dnsNames: [...serviceDnsNames(options.serviceName, namespace), ...(options.extraDnsNames ?? [])],
    ips: options.extraIps ?? [],
    renewal: options.renewal ?? DEFAULT_RENEWAL_POLICY,
  };
  for (let attempt = 1; ; attempt++) {
    const now = options.now?.() ?? new Date();
    const existing = await readSecret(api, namespace, name);
    const verdict = judgeTlsSecret(existing, wanted, now);
    if (verdict.kind === 'use') return { material: verdict.material, action: 'existing' };

    const material = issueTlsMaterial(verdict, options, now);
    const body = tlsSecretBody(existing, options, material);
    try {
      if (existing === undefined) {
        await api.createNamespacedSecret({ namespace, body });
        return { material: publicPart(material), action: 'created' };
      }
      // metadata.resourceVersion in the body makes this a compare-and-swap.
      await api.replaceNamespacedSecret({ namespace, name, body });
      return { material: publicPart(material), action: 'renewed' };
    } catch (error) {
      // Another replica created or renewed it first: read again and adopt the winner's.
      if (statusCode(error) !== 409 || attempt >= maxAttempts) throw error;
    }
  }
}

export type TlsSecretVerdict =
  | { kind: 'use'; material: TlsMaterial }
  /** Issue a new serving certificate; under `ca` when it is still good, else under a new CA that `previousCaPem` overlaps. */
  | { kind: 'issue'; reason: string; ca?: CertificateAndKey; previousCaPem?: string };

/** What to do with the Secret as read. Throws for a foreign Secret that holds no usable material. */
export function judgeTlsSecret(
  secret: V1Secret | undefined,
  wanted: { dnsNames: string[]; ips?: string[]; renewal: RenewalPolicy },
  now: Date,
): TlsSecretVerdict {
  if (secret === undefined) return { kind: 'issue', reason: 'missing' };
  const data = decodeSecretData(secret);
  const ours = secret.metadata?.labels?.[TLS_SECRET_MANAGED_BY_LABEL] === TLS_SECRET_MANAGED_BY;
  const servable = isServable(data);

  if (!ours) {
    // Someone else's (cert-manager, an operator's own): use as is, never rewrite.
    if (servable) return { kind: 'use', material: servable };
    const where = `${secret.metadata?.namespace ?? ''}/${secret.metadata?.name ?? ''}`;
    throw new Error(`Secret ${where} is not managed by ${TLS_SECRET_MANAGED_BY} and holds no usable TLS key pair`);
  }

  const activeCa = usableCa(data);
  const caGood = activeCa !== undefined && !renewalDue(activeCa.certPem, now, wanted.renewal);
  if (!caGood) {
    // A fresh CA; the old active one (if readable and unexpired) stays trusted alongside it.
    const previous = data.ca !== undefined ? splitPemBundle(data.ca)[0] : undefined;
    const keepPrevious = previous !== undefined && (expiryOf(previous)?.getTime() ?? 0) > now.getTime();
    return { kind: 'issue', reason: activeCa ? 'CA due for renewal' : 'no usable CA', ...(keepPrevious ? { previousCaPem: previous } : {}) };
  }
  if (!servable) return { kind: 'issue', reason: 'no usable key pair', ca: activeCa };
  const served = new X509Certificate(servable.cert);
  if (!served.checkIssued(new X509Certificate(activeCa.certPem))) {
    return { kind: 'issue', reason: 'certificate not issued by the active CA', ca: activeCa };
  }
  const coversIps = (wanted.ips ?? []).every((ip) => served.checkIP(ip) !== undefined);
  if (!coversDnsNames(servable.cert, wanted.dnsNames) || !coversIps) return { kind: 'issue', reason: 'names changed', ca: activeCa };
  if (renewalDue(servable.cert, now, wanted.renewal)) return { kind: 'issue', reason: 'certificate due for renewal', ca: activeCa };
  return { kind: 'use', material: servable };
}

interface IssuedMaterial extends TlsMaterial {
  caKey: string;
}

function issueTlsMaterial(
  verdict: Extract<TlsSecretVerdict, { kind: 'issue' }>,
  options: EnsureTlsSecretOptions,
  now: Date,
): IssuedMaterial {
  const ca = verdict.ca ?? createCertificateAuthority({ commonName: options.caCommonName ?? `${options.serviceName}-ca`, now });
  const leaf = createServingCertificate({
    ca,
    serviceName: options.serviceName,
    namespace: options.namespace,
    extraDnsNames: options.extraDnsNames ?? [],
    extraIps: options.extraIps ?? [],
    now,
  });
  // A renewal under the same CA drops any previous CA: the roll it overlapped is a renewal period behind.
  return { key: leaf.keyPem, cert: leaf.certPem, ca: caBundleFor(ca.certPem, verdict.previousCaPem), caKey: ca.keyPem };
}

function publicPart({ key, cert, ca }: IssuedMaterial): TlsMaterial {
  return { key, cert, ca };
}

function tlsSecretBody(existing: V1Secret | undefined, options: EnsureTlsSecretOptions, material: IssuedMaterial): V1Secret {
  const metadata = existing?.metadata ?? { name: options.name, namespace: options.namespace };
  const encode = (text: string): string => Buffer.from(text).toString('base64');
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { ...metadata, labels: { ...metadata.labels, [TLS_SECRET_MANAGED_BY_LABEL]: TLS_SECRET_MANAGED_BY } },
    type: 'kubernetes.io/tls',
    data: {
      [SECRET_KEYS.cert]: encode(material.cert),
      [SECRET_KEYS.key]: encode(material.key),
      [SECRET_KEYS.ca]: encode(material.ca),
      [SECRET_KEYS.caKey]: encode(material.caKey),
    },
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

/** The key pair (and CA bundle, possibly empty) when the key parses and belongs to the certificate. */
function isServable(data: SecretData): TlsMaterial | undefined {
  if (data.cert === undefined || data.key === undefined) return undefined;
  if (!keyMatches(data.cert, data.key)) return undefined;
  return { cert: data.cert, key: data.key, ca: data.ca ?? '' };
}

function usableCa(data: SecretData): CertificateAndKey | undefined {
  const certPem = data.ca !== undefined ? splitPemBundle(data.ca)[0] : undefined;
  if (certPem === undefined || data.caKey === undefined || !keyMatches(certPem, data.caKey)) return undefined;
  return new X509Certificate(certPem).ca ? { certPem, keyPem: data.caKey } : undefined;
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

async function readSecret(api: SecretsApi, namespace: string, name: string): Promise<V1Secret | undefined> {
  try {
    return await api.readNamespacedSecret({ namespace, name });
  } catch (error) {
    if (statusCode(error) === 404) return undefined;
    throw error;
  }
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

/**
 * Points our MutatingWebhookConfiguration (only that one, by name) at this CA
 * bundle. Returns whether anything changed. A failed guard (the list changed
 * between read and patch: 409 or 422) is retried from a fresh read.
 */
export async function patchWebhookCaBundle(
  api: WebhookConfigApi,
  configName: string,
  caBundlePem: string,
  maxAttempts = 5,
): Promise<boolean> {
  const caBundle = Buffer.from(caBundlePem).toString('base64');
  for (let attempt = 1; ; attempt++) {
    const config = await api.readMutatingWebhookConfiguration({ name: configName });
    const patch = caBundlePatch(config, caBundle);
    if (patch.length === 0) return false;
    try {
      await api.patchMutatingWebhookConfiguration(
        { name: configName, body: patch },
        setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
      );
      return true;
    } catch (error) {
      const status = statusCode(error);
      if ((status !== 409 && status !== 422) || attempt >= maxAttempts) throw error;
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

/** The HTTP status of a client-node ApiException (or anything shaped like one). */
function statusCode(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null || !('code' in error)) return undefined;
  return typeof error.code === 'number' ? error.code : undefined;
}
