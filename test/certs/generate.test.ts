import { createPrivateKey, X509Certificate } from 'node:crypto';
import forge from 'node-forge';
import t from 'tap';
import { createCertificateAuthority, createServingCertificate, serviceDnsNames } from '../../certs/generate.js';
import {
  caBundleFor,
  coversDnsNames,
  parseCertificate,
  renewalDue,
  renewalTime,
  splitPemBundle,
} from '../../certs/rotation.js';

const DAY = 24 * 60 * 60 * 1000;
const NOW = new Date('2030-01-01T00:00:00Z');
const ca = createCertificateAuthority({ commonName: 'webhook-ca', now: NOW });
const leaf = createServingCertificate({
  ca,
  serviceName: 'hook',
  namespace: 'jobs',
  extraDnsNames: ['localhost', 'hook.jobs.svc'],
  extraIps: ['127.0.0.1', '::1'],
  now: NOW,
});

function extension(pem: string, name: string): Record<string, unknown> {
  const ext: unknown = forge.pki.certificateFromPem(pem).getExtension(name);
  if (typeof ext !== 'object' || ext === null) throw new Error(`no ${name} extension`);
  return ext as Record<string, unknown>;
}

t.test('the CA: self-signed, a CA, for signing certificates only', async (t) => {
  const x = new X509Certificate(ca.certPem);
  t.equal(x.ca, true);
  t.equal(x.subject, 'CN=webhook-ca');
  t.equal(x.issuer, 'CN=webhook-ca');
  t.ok(x.verify(x.publicKey), 'self-signed');
  t.match(extension(ca.certPem, 'basicConstraints'), { cA: true, critical: true });
  t.match(extension(ca.certPem, 'keyUsage'), { keyCertSign: true, cRLSign: true, critical: true, digitalSignature: false });
  t.type(extension(ca.certPem, 'subjectKeyIdentifier').subjectKeyIdentifier, 'string');
  t.equal(forge.pki.certificateFromPem(ca.certPem).siginfo.algorithmOid, forge.pki.oids.sha256WithRSAEncryption);
  t.equal(new Date(x.validTo).getTime(), NOW.getTime() + 3650 * DAY, 'ten years by default');
  t.match(ca.keyPem, /^-----BEGIN PRIVATE KEY-----/);
  t.ok(x.checkPrivateKey(createPrivateKey(ca.keyPem)), 'the key belongs to it');
});

t.test('the serving certificate: Service names, server auth, signed by the CA', async (t) => {
  const x = new X509Certificate(leaf.certPem);
  const caX = new X509Certificate(ca.certPem);
  t.equal(x.ca, false);
  t.equal(x.subject, 'CN=hook.jobs.svc');
  t.equal(x.issuer, 'CN=webhook-ca');
  t.ok(x.verify(caX.publicKey), 'signed by the CA');
  t.ok(x.checkIssued(caX));
  const other = createCertificateAuthority({ commonName: 'other' });
  t.notOk(x.verify(new X509Certificate(other.certPem).publicKey), 'not by another CA');
  t.same(x.keyUsage, ['1.3.6.1.5.5.7.3.1'], 'extKeyUsage serverAuth');
  t.match(extension(leaf.certPem, 'basicConstraints'), { cA: false, critical: true });
  t.match(extension(leaf.certPem, 'keyUsage'), { digitalSignature: true, keyEncipherment: true, keyCertSign: false });

  const facts = parseCertificate(leaf.certPem);
  t.same(facts.dnsNames, ['hook', 'hook.jobs', 'hook.jobs.svc', 'hook.jobs.svc.cluster.local', 'localhost'], 'duplicates dropped');
  t.same(facts.ipAddresses, ['127.0.0.1', '0:0:0:0:0:0:0:1']);
  t.equal(x.checkHost('hook.jobs.svc'), 'hook.jobs.svc');
  t.equal(x.checkIP('127.0.0.1'), '127.0.0.1');

  const aki = forge.util.bytesToHex(String(extension(leaf.certPem, 'authorityKeyIdentifier').value));
  const ski = String(extension(ca.certPem, 'subjectKeyIdentifier').subjectKeyIdentifier);
  t.ok(aki.endsWith(ski), 'authorityKeyIdentifier names the CA key');
  t.not(String(extension(leaf.certPem, 'subjectKeyIdentifier').subjectKeyIdentifier), ski);

  t.equal(facts.notAfter.getTime(), NOW.getTime() + 30 * DAY, '30 days by default');
  t.equal(facts.notBefore.getTime(), NOW.getTime() - 5 * 60 * 1000, 'backdated for clock skew');
  t.equal(forge.pki.certificateFromPem(leaf.certPem).siginfo.algorithmOid, forge.pki.oids.sha256WithRSAEncryption);
});

t.test('serials are 16 random positive bytes', async (t) => {
  const serials = [ca, leaf, ...Array.from({ length: 4 }, () => createServingCertificate({ ca, serviceName: 's', namespace: 'n' }))].map(
    (c) => new X509Certificate(c.certPem).serialNumber,
  );
  t.equal(new Set(serials).size, serials.length, 'unique');
  for (const serial of serials) {
    t.match(serial, /^[0-9A-F]{32}$/, 'sixteen bytes');
    t.ok(parseInt(serial.slice(0, 2), 16) < 0x80, 'positive');
    t.not(serial.slice(0, 2), '00');
  }
});

t.test('a serving certificate never outlives its CA', async (t) => {
  const shortCa = createCertificateAuthority({ commonName: 'short', validityDays: 10, now: NOW });
  const l = createServingCertificate({ ca: shortCa, serviceName: 's', namespace: 'n', validityDays: 30, now: NOW });
  t.equal(parseCertificate(l.certPem).notAfter.getTime(), parseCertificate(shortCa.certPem).notAfter.getTime());
});

t.test('bad options are refused', async (t) => {
  t.throws(() => createServingCertificate({ ca, serviceName: 's', namespace: 'n', extraIps: ['300.1.1.1'] }), /not an IP/);
  t.throws(() => createCertificateAuthority({ commonName: 'x', validityDays: 0 }), /validityDays/);
  t.throws(() => createServingCertificate({ ca: { certPem: ca.certPem, keyPem: 'junk' }, serviceName: 's', namespace: 'n' }));
});

t.test('service DNS names', async (t) => {
  t.same(serviceDnsNames('a', 'b'), ['a', 'a.b', 'a.b.svc', 'a.b.svc.cluster.local']);
});

t.test('renewal is due in the last third of the lifetime, or days before expiry', async (t) => {
  const lifetime = 30 * DAY + 5 * 60 * 1000;
  const notAfter = NOW.getTime() + 30 * DAY;
  const at = renewalTime(leaf.certPem);
  t.equal(at.getTime(), notAfter - lifetime / 3);
  t.notOk(renewalDue(leaf.certPem, new Date(at.getTime() - 1)));
  t.ok(renewalDue(leaf.certPem, at));
  t.notOk(renewalDue(leaf.certPem, NOW), 'fresh');
  t.ok(renewalDue(leaf.certPem, new Date(notAfter + DAY)), 'expired');
  t.ok(renewalDue(leaf.certPem, new Date(notAfter - 6 * DAY), { renewBeforeDays: 7 }));
  t.notOk(renewalDue(leaf.certPem, new Date(notAfter - 8 * DAY), { renewBeforeDays: 7 }));
  t.ok(renewalDue(leaf.certPem, new Date(notAfter - 2 * DAY), { renewBeforeFraction: 0.1 }));
  t.notOk(renewalDue(leaf.certPem, new Date(notAfter - 4 * DAY), { renewBeforeFraction: 0.1 }));
  for (const fraction of [0, 1, -0.5, Number.NaN]) {
    t.throws(() => renewalDue(leaf.certPem, NOW, { renewBeforeFraction: fraction }), /renewBeforeFraction/);
  }
});

t.test('parsing', async (t) => {
  const facts = parseCertificate(`${ca.certPem}${leaf.certPem}`);
  t.equal(facts.isCa, true, 'a bundle reads as its first certificate');
  t.equal(facts.serialNumber, new X509Certificate(ca.certPem).serialNumber);
  t.same(facts.dnsNames, []);
  t.throws(() => parseCertificate('no pem here'), /no PEM certificate/);
  t.same(splitPemBundle(`junk\n${ca.certPem}\nmore junk\r\n${leaf.certPem.trimEnd()}`), [ca.certPem, leaf.certPem]);
  t.ok(coversDnsNames(leaf.certPem, ['hook.jobs.svc', 'HOOK']));
  t.notOk(coversDnsNames(leaf.certPem, ['hook.other.svc']));
});

t.test('CA bundles for a roll-over', async (t) => {
  const next = createCertificateAuthority({ commonName: 'next' });
  t.same(splitPemBundle(caBundleFor(next.certPem)), [next.certPem]);
  t.same(splitPemBundle(caBundleFor(next.certPem, ca.certPem)), [next.certPem, ca.certPem], 'active first');
  t.same(splitPemBundle(caBundleFor(next.certPem, next.certPem)), [next.certPem], 'no duplicates');
  t.same(splitPemBundle(caBundleFor(caBundleFor(next.certPem, ca.certPem), ca.certPem)), [next.certPem, ca.certPem]);
  t.throws(() => caBundleFor(''), /no certificate/);
});
