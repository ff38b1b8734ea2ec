/**
 * A tiny admission webhook for end-to-end tests: an HTTPS server with a
 * certificate from the repo's own CA code, answering AdmissionReviews with
 * whatever the test's responder decides, and recording every review it got.
 */
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { createCertificateAuthority, createServingCertificate, type CertificateAndKey } from '../../certs/generate.js';
import type { Teardown } from './local-cluster.js';

export interface ReviewedObject {
  metadata?: { name?: string; generateName?: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

export interface ReviewRequest {
  uid: string;
  kind: { group: string; version: string; kind: string };
  resource: { group: string; version: string; resource: string };
  operation: string;
  namespace?: string;
  name?: string;
  userInfo: { username?: string };
  object: ReviewedObject;
  oldObject?: ReviewedObject | null;
  dryRun?: boolean;
}

export interface JsonPatchOperation {
  op: 'add' | 'remove' | 'replace' | 'test';
  path: string;
  value?: unknown;
}

export interface Verdict {
  allowed: boolean;
  patch?: JsonPatchOperation[];
  status?: { code?: number; message?: string; reason?: string };
}

/** Decides about one review; `path` is the URL path the API server posted to. */
export type Responder = (request: ReviewRequest, path: string) => Verdict;

export interface Received {
  path: string;
  request: ReviewRequest;
}

export interface WebhookServer {
  port: number;
  /** base64 of the CA certificate, for clientConfig.caBundle. */
  caBundle: string;
  received: Received[];
  url(path: string): string;
}

export interface WebhookCertificates {
  ca: CertificateAndKey;
  serving: CertificateAndKey;
}

/** A CA and a serving certificate for the service `name.namespace.svc` and for 127.0.0.1. */
export function webhookCertificates(serviceName: string, namespace: string): WebhookCertificates {
  const ca = createCertificateAuthority({ commonName: `${serviceName}-ca` });
  const serving = createServingCertificate({ ca, serviceName, namespace, extraIps: ['127.0.0.1'] });
  return { ca, serving };
}

/** JSON-pointer escaping of one path segment (label keys contain '/'). */
export const pointer = (segment: string): string => segment.replace(/~/g, '~0').replace(/\//g, '~1');

/** A patch that sets labels, creating the labels map when the object has none. */
export function addLabels(object: ReviewedObject, labels: Record<string, string>): JsonPatchOperation[] {
  if (!object.metadata?.labels) return [{ op: 'add', path: '/metadata/labels', value: labels }];
  return Object.entries(labels).map(([key, value]) => ({ op: 'add', path: `/metadata/labels/${pointer(key)}`, value }));
}

export async function startWebhookServer(t: Teardown, certificates: WebhookCertificates, responder: Responder): Promise<WebhookServer> {
  const received: Received[] = [];
  const server = https.createServer({ key: certificates.serving.keyPem, cert: certificates.serving.certPem }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const review = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { request: ReviewRequest };
      const path = new URL(req.url ?? '/', 'https://webhook').pathname;
      received.push({ path, request: review.request });
      const verdict = responder(review.request, path);
      const response = {
        uid: review.request.uid,
        allowed: verdict.allowed,
        ...(verdict.status ? { status: verdict.status } : {}),
        ...(verdict.patch?.length ? { patchType: 'JSONPatch', patch: Buffer.from(JSON.stringify(verdict.patch)).toString('base64') } : {}),
      };
      const body = JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  const { port } = server.address() as AddressInfo;
  return {
    port,
    caBundle: Buffer.from(certificates.ca.certPem).toString('base64'),
    received,
    url: (path) => `https://127.0.0.1:${port}${path}`,
  };
}
