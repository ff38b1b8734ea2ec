/** `certs`: a CA and a serving certificate for the webhook, for manual set-ups. */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from '../command.js';

export const certsCommand: Command = {
  name: 'certs',
  summary: 'make a CA and a webhook serving certificate (print them, or write them to a folder)',
  usage: 'k8s-job-manager certs [--service NAME] [--namespace NS] [--out DIR]',
  options: {
    service: { type: 'string', description: 'Service name of the webhook (default k8s-job-manager-webhook)' },
    namespace: { type: 'string', description: 'namespace of the Service (default k8s-job-manager)' },
    out: { type: 'string', description: 'write ca.crt, tls.crt and tls.key (mode 0600) to this folder instead of printing them' },
  },
  async run(values) {
    // node-forge only when certificates are made: main.ts loads every verb's module, `serve` among them.
    const { createCertificateAuthority, createServingCertificate, serviceDnsNames } = await import('../../certs/generate.js');
    const serviceName = String(values.service ?? 'k8s-job-manager-webhook');
    const namespace = String(values.namespace ?? 'k8s-job-manager');
    const ca = createCertificateAuthority({ commonName: `${serviceName}-ca` });
    const serving = createServingCertificate({ ca, serviceName, namespace });
    if (values.out) {
      const dir = path.resolve(String(values.out));
      await mkdir(dir, { recursive: true });
      await writeFile(path.join(dir, 'ca.crt'), ca.certPem);
      await writeFile(path.join(dir, 'tls.crt'), serving.certPem);
      await writeFile(path.join(dir, 'tls.key'), serving.keyPem, { mode: 0o600 });
      process.stdout.write(`wrote ${dir}/ca.crt, tls.crt, tls.key for ${serviceDnsNames(serviceName, namespace).join(', ')}\n` +
        `caBundle for the MutatingWebhookConfiguration: base64 of ca.crt\n`);
    } else {
      process.stdout.write(`${ca.certPem}${serving.certPem}${serving.keyPem}`);
    }
    return 0;
  },
};
