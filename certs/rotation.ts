/**
 * When to renew, and what to trust while a CA rolls over. Pure; certificates
 * are read with Node's own X.509 parser.
 */
import { X509Certificate } from 'node:crypto';

const DAY_MS = 24 * 60 * 60 * 1000;

export interface CertificateFacts {
  /** Upper-case hex, as Node reports it. */
  serialNumber: string;
  notBefore: Date;
  notAfter: Date;
  dnsNames: string[];
  /** As Node prints them (IPv6 uncompressed). */
  ipAddresses: string[];
  isCa: boolean;
}

/** Renew once this share of the lifetime is left, or this many days before expiry. */
export type RenewalPolicy = { renewBeforeFraction: number } | { renewBeforeDays: number };

/** Renew with a third of the lifetime left (10 days of a 30-day certificate), as cert-manager does by default. */
export const DEFAULT_RENEWAL_POLICY: RenewalPolicy = { renewBeforeFraction: 1 / 3 };

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

/** The certificates of a PEM bundle, each normalised to LF line ends and one final newline. */
export function splitPemBundle(pem: string): string[] {
  return (pem.match(PEM_CERTIFICATE) ?? []).map((block) => `${block.replaceAll('\r\n', '\n')}\n`);
}

/** Facts about the first certificate of a PEM (bundle). Throws if there is none. */
export function parseCertificate(pem: string): CertificateFacts {
  const first = splitPemBundle(pem)[0];
  if (first === undefined) throw new Error('no PEM certificate found');
  const cert = new X509Certificate(first);
  const sans = parseSubjectAltName(cert.subjectAltName ?? '');
  return {
    serialNumber: cert.serialNumber,
    notBefore: new Date(cert.validFrom),
    notAfter: new Date(cert.validTo),
    dnsNames: sans.filter((s) => s.type === 'DNS').map((s) => s.value),
    ipAddresses: sans.filter((s) => s.type === 'IP Address').map((s) => s.value),
    isCa: cert.ca,
  };
}

/**
 * Node prints SANs as `DNS:a, IP Address:10.0.0.1`, quoting (JSON-style)
 * values that contain separators, so split on entries rather than commas.
 */
function parseSubjectAltName(text: string): Array<{ type: string; value: string }> {
  const entries: Array<{ type: string; value: string }> = [];
  for (const match of text.matchAll(/([A-Za-z ]+):("(?:[^"\\]|\\.)*"|[^,]*)(?:, |$)/g)) {
    const raw = match[2]!;
    entries.push({ type: match[1]!, value: raw.startsWith('"') ? (JSON.parse(raw) as string) : raw });
  }
  return entries;
}

/** The moment the certificate should be replaced under the policy. */
export function renewalTime(certPem: string, policy: RenewalPolicy = DEFAULT_RENEWAL_POLICY): Date {
  const { notBefore, notAfter } = parseCertificate(certPem);
  const lead =
    'renewBeforeFraction' in policy
      ? checkedFraction(policy.renewBeforeFraction) * (notAfter.getTime() - notBefore.getTime())
      : policy.renewBeforeDays * DAY_MS;
  return new Date(notAfter.getTime() - lead);
}

/** True once the certificate is in its renewal window (or expired). */
export function renewalDue(certPem: string, now: Date, policy: RenewalPolicy = DEFAULT_RENEWAL_POLICY): boolean {
  return now.getTime() >= renewalTime(certPem, policy).getTime();
}

function checkedFraction(fraction: number): number {
  if (!(fraction > 0 && fraction < 1)) throw new Error(`renewBeforeFraction must be between 0 and 1, got ${fraction}`);
  return fraction;
}

/** True when the certificate names every one of these DNS names (exactly; no wildcard matching). */
export function coversDnsNames(certPem: string, names: string[]): boolean {
  const have = new Set(parseCertificate(certPem).dnsNames.map((n) => n.toLowerCase()));
  return names.every((n) => have.has(n.toLowerCase()));
}

/**
 * The caBundle to publish while a CA rolls over: the active CA first, then the
 * previous one, so that servers still presenting a certificate of the old CA
 * stay trusted until they have reloaded. Duplicates are dropped.
 */
export function caBundleFor(activeCaPem: string, previousCaPem?: string): string {
  const certs = [...splitPemBundle(activeCaPem), ...splitPemBundle(previousCaPem ?? '')];
  if (certs.length === 0) throw new Error('the active CA PEM holds no certificate');
  const seen = new Set<string>();
  const unique = certs.filter((pem) => {
    const fingerprint = new X509Certificate(pem).fingerprint256;
    if (seen.has(fingerprint)) return false;
    seen.add(fingerprint);
    return true;
  });
  return unique.join('');
}
