/**
 * The stand-in's own certificates (kept apart from the product's certs/
 * module, so a bug there cannot hide behind the stand-in): a cluster CA and
 * the API server's serving certificate for `kubernetes.default.svc`,
 * localhost and the listen addresses. RSA 2048 keys from Node's generator;
 * node-forge assembles and signs the X.509 structures.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import forge from 'node-forge';

const YEAR_MS = 365 * 24 * 60 * 60 * 1000;
/** Clocks that lag a little still accept a fresh certificate. */
const SKEW_MS = 5 * 60 * 1000;

export interface ClusterCertificates {
  caPem: string;
  /** The CA's key (PKCS#8 PEM): kept so a restarted cluster serves under the same CA. */
  caKeyPem: string;
  certPem: string;
  keyPem: string;
}

function newKeys(): { pem: string; forgePublic: forge.pki.PublicKey; forgePrivate: forge.pki.rsa.PrivateKey } {
  const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pem = pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  return {
    pem,
    forgePublic: forge.pki.publicKeyFromPem(pair.publicKey.export({ type: 'spki', format: 'pem' }).toString()),
    forgePrivate: forge.pki.privateKeyFromPem(pem) as forge.pki.rsa.PrivateKey,
  };
}

function certificate(publicKey: forge.pki.PublicKey, years: number, now: Date): forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  cert.publicKey = publicKey;
  const serial = randomBytes(16);
  serial[0] = (serial[0]! & 0x7f) | 0x01; // a positive DER integer
  cert.serialNumber = serial.toString('hex');
  cert.validity.notBefore = new Date(now.getTime() - SKEW_MS);
  cert.validity.notAfter = new Date(now.getTime() + years * YEAR_MS);
  return cert;
}

const pem = (cert: forge.pki.Certificate): string => forge.pki.certificateToPem(cert).replaceAll('\r\n', '\n');

/** A new CA, or the given one (restart), and a fresh serving certificate for `hosts` (names and IPs). */
export function clusterCertificates(hosts: string[], existingCa?: { caPem: string; caKeyPem: string }, now = new Date()): ClusterCertificates {
  let caCert: forge.pki.Certificate;
  let caKey: forge.pki.rsa.PrivateKey;
  let caKeyPem: string;
  if (existingCa) {
    caCert = forge.pki.certificateFromPem(existingCa.caPem);
    caKey = forge.pki.privateKeyFromPem(existingCa.caKeyPem) as forge.pki.rsa.PrivateKey;
    caKeyPem = existingCa.caKeyPem;
  } else {
    const keys = newKeys();
    caCert = certificate(keys.forgePublic, 10, now);
    const subject = [{ name: 'commonName', value: 'local-cluster-ca' }];
    caCert.setSubject(subject);
    caCert.setIssuer(subject);
    caCert.setExtensions([
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
      { name: 'subjectKeyIdentifier' },
    ]);
    caCert.sign(keys.forgePrivate, forge.md.sha256.create());
    caKey = keys.forgePrivate;
    caKeyPem = keys.pem;
  }

  const serving = newKeys();
  const cert = certificate(serving.forgePublic, 1, now);
  const names = ['kubernetes', 'kubernetes.default', 'kubernetes.default.svc', 'kubernetes.default.svc.cluster.local', 'localhost'];
  const altNames = [
    ...names.map((value) => ({ type: 2, value })),
    ...[...new Set(hosts)].map((host) => (isIP(host) ? { type: 7, ip: host } : { type: 2, value: host })),
  ];
  cert.setSubject([{ name: 'commonName', value: 'kube-apiserver' }]);
  cert.setIssuer(caCert.subject.attributes);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    { name: 'subjectAltName', altNames },
  ]);
  cert.sign(caKey, forge.md.sha256.create());
  return { caPem: pem(caCert), caKeyPem, certPem: pem(cert), keyPem: serving.pem };
}
