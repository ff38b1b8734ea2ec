/**
 * A private CA and the webhook's serving certificate, for clusters without
 * cert-manager. Pure except for randomness (keys and serials); the clock is a
 * parameter. Keys come from Node's native generator (fast, and not forge's JS
 * RSA); forge only assembles and signs the X.509 structures. Keys are RSA
 * 2048: forge cannot sign certificates with EC keys.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import forge from 'node-forge';

const DAY_MS = 24 * 60 * 60 * 1000;
/** notBefore lies this far in the past, so nodes whose clocks lag a little accept a fresh certificate. */
const CLOCK_SKEW_MS = 5 * 60 * 1000;
export const DEFAULT_CA_VALIDITY_DAYS = 3650;
export const DEFAULT_SERVING_VALIDITY_DAYS = 30;

/** A PEM certificate with its PEM (PKCS#8) private key. */
export interface CertificateAndKey {
  certPem: string;
  keyPem: string;
}

export interface CertificateAuthorityOptions {
  commonName: string;
  validityDays?: number;
  now?: Date;
}

export interface ServingCertificateOptions {
  ca: CertificateAndKey;
  serviceName: string;
  namespace: string;
  extraDnsNames?: string[];
  extraIps?: string[];
  validityDays?: number;
  now?: Date;
}

export function createCertificateAuthority(options: CertificateAuthorityOptions): CertificateAndKey {
  const keys = generateRsaKeys();
  const cert = newCertificate(keys.publicKey, options.now ?? new Date(), options.validityDays ?? DEFAULT_CA_VALIDITY_DAYS);
  const subject = [{ name: 'commonName', value: options.commonName }];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(keys.privateKey, forge.md.sha256.create());
  return { certPem: certificatePem(cert), keyPem: keys.privateKeyPem };
}

/** The names a client may use for an in-cluster Service; the API server uses `svc.ns.svc`. */
export function serviceDnsNames(serviceName: string, namespace: string): string[] {
  const base = `${serviceName}.${namespace}`;
  return [serviceName, base, `${base}.svc`, `${base}.svc.cluster.local`];
}

export function createServingCertificate(options: ServingCertificateOptions): CertificateAndKey {
  const badIp = (options.extraIps ?? []).find((ip) => isIP(ip) === 0);
  if (badIp !== undefined) throw new Error(`not an IP address: ${JSON.stringify(badIp)}`);
  const dnsNames = [...new Set([...serviceDnsNames(options.serviceName, options.namespace), ...(options.extraDnsNames ?? [])])];

  const caCert = forge.pki.certificateFromPem(options.ca.certPem);
  const caKey = rsaPrivateKeyFromPem(options.ca.keyPem);
  const keys = generateRsaKeys();
  const cert = newCertificate(keys.publicKey, options.now ?? new Date(), options.validityDays ?? DEFAULT_SERVING_VALIDITY_DAYS);
  // A certificate outliving its issuer would fail verification at the end anyway; say so in its dates.
  if (cert.validity.notAfter > caCert.validity.notAfter) cert.validity.notAfter = caCert.validity.notAfter;
  cert.setSubject([{ name: 'commonName', value: dnsNames[2]! }]);
  cert.setIssuer(caCert.subject.attributes);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    {
      name: 'subjectAltName',
      altNames: [
        ...dnsNames.map((value) => ({ type: 2, value })),
        ...(options.extraIps ?? []).map((ip) => ({ type: 7, ip })),
      ],
    },
    { name: 'subjectKeyIdentifier' },
    // forge's `keyIdentifier: true` would name the leaf's own key, so pass the issuer's explicitly.
    { name: 'authorityKeyIdentifier', keyIdentifier: authorityKeyId(caCert) },
  ]);
  cert.sign(caKey, forge.md.sha256.create());
  return { certPem: certificatePem(cert), keyPem: keys.privateKeyPem };
}

/** forge writes CRLF line ends; Node and Kubernetes tooling write LF, and bundles concatenate cleanly with LF only. */
function certificatePem(cert: forge.pki.Certificate): string {
  return forge.pki.certificateToPem(cert).replaceAll('\r\n', '\n');
}

function newCertificate(publicKey: forge.pki.PublicKey, now: Date, validityDays: number): forge.pki.Certificate {
  if (!(validityDays > 0)) throw new Error(`validityDays must be positive, got ${validityDays}`);
  const cert = forge.pki.createCertificate();
  cert.publicKey = publicKey;
  cert.serialNumber = randomSerialHex();
  cert.validity.notBefore = new Date(now.getTime() - CLOCK_SKEW_MS);
  cert.validity.notAfter = new Date(now.getTime() + validityDays * DAY_MS);
  return cert;
}

/** 16 random bytes as a positive DER INTEGER: the top bit clear, and the first byte non-zero so no byte is wasted. */
function randomSerialHex(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0]! & 0x7f) || 0x01;
  return bytes.toString('hex');
}

function generateRsaKeys(): { publicKey: forge.pki.PublicKey; privateKey: forge.pki.rsa.PrivateKey; privateKeyPem: string } {
  const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const privateKeyPem = pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  return {
    publicKey: forge.pki.publicKeyFromPem(pair.publicKey.export({ type: 'spki', format: 'pem' }).toString()),
    privateKey: rsaPrivateKeyFromPem(privateKeyPem),
    privateKeyPem,
  };
}

function rsaPrivateKeyFromPem(pem: string): forge.pki.rsa.PrivateKey {
  const key = forge.pki.privateKeyFromPem(pem);
  if (Buffer.isBuffer(key)) throw new Error('the CA key must be an RSA key');
  return key;
}

/** The issuer's subjectKeyIdentifier (binary string), computed the same way when the CA lacks the extension. */
function authorityKeyId(caCert: forge.pki.Certificate): string {
  const ext: unknown = caCert.getExtension('subjectKeyIdentifier');
  if (typeof ext === 'object' && ext !== null && 'subjectKeyIdentifier' in ext && typeof ext.subjectKeyIdentifier === 'string') {
    return forge.util.hexToBytes(ext.subjectKeyIdentifier);
  }
  return caCert.generateSubjectKeyIdentifier().getBytes();
}
