/**
 * Calling one admission webhook over HTTPS: the server certificate is
 * verified against the webhook's caBundle and the service's DNS name, as the
 * real API server does; a service reference is mapped to a local address.
 */
import https from 'node:https';
import { isIP } from 'node:net';
import { isRecord } from '../types.js';
import type { MutatingWebhook } from './webhook-match.js';

/** Maps an in-cluster service to where it listens on this machine. */
export type ServiceResolver = (namespace: string, name: string, port: number) => { host: string; port: number } | undefined;

export interface WebhookTarget {
  url: URL;
  /** Host name the certificate must carry. */
  servername: string;
}

export function webhookTarget(webhook: MutatingWebhook, resolve: ServiceResolver): WebhookTarget {
  const { url, service } = webhook.clientConfig;
  if (url) {
    const parsed = new URL(url);
    return { url: parsed, servername: parsed.hostname };
  }
  if (!service) throw new Error('clientConfig needs url or service');
  const port = service.port ?? 443;
  const local = resolve(service.namespace, service.name, port);
  if (!local) throw new Error(`service "${service.namespace}/${service.name}" has no local endpoint`);
  const target = new URL(`https://${local.host}:${local.port}${service.path ?? '/'}`);
  return { url: target, servername: `${service.name}.${service.namespace}.svc` };
}

/** POSTs the review and returns the parsed response body; throws with the real server's wording on failure. */
export function postAdmissionReview(target: WebhookTarget, caBundle: string | undefined, review: unknown, timeoutMs: number): Promise<unknown> {
  const body = Buffer.from(JSON.stringify(review));
  // The API server tells the webhook its deadline, as client-go does for every request with a timeout.
  const url = new URL(target.url);
  url.searchParams.set('timeout', `${Math.round(timeoutMs / 1000)}s`);
  const displayUrl = url.toString();
  return new Promise((resolve, reject) => {
    const request = https.request(
      url,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json', 'content-length': body.length },
        ...(caBundle ? { ca: Buffer.from(caBundle, 'base64').toString('utf8') } : {}),
        ...(isIP(target.servername) ? {} : { servername: target.servername }),
        // The certificate must name the service, not the local address it is mapped to.
        checkServerIdentity: (_host, cert) => checkIdentity(target.servername, cert),
        timeout: timeoutMs,
        agent: false,
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (c: Buffer) => chunks.push(c));
        response.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          if ((response.statusCode ?? 0) >= 300) {
            reject(new Error(`failed to call webhook: the server responded with status ${response.statusCode ?? 0}: ${text.slice(0, 200)}`));
            return;
          }
          try {
            resolve(JSON.parse(text));
          } catch {
            reject(new Error(`failed to call webhook: received invalid webhook response: ${text.slice(0, 200)}`));
          }
        });
        response.on('error', reject);
      },
    );
    request.on('timeout', () => request.destroy(new Error(`failed to call webhook: Post "${displayUrl}": context deadline exceeded`)));
    request.on('error', (error) => {
      const message = error.message.startsWith('failed to call webhook') ? error.message : `failed to call webhook: Post "${displayUrl}": ${error.message}`;
      reject(new Error(message));
    });
    request.end(body);
  });
}

function checkIdentity(servername: string, cert: { subjectaltname?: string }): Error | undefined {
  const wanted = isIP(servername) ? 'IP Address:' : 'DNS:';
  const names = (cert.subjectaltname ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.startsWith(wanted))
    .map((s) => s.slice(wanted.length));
  if (names.includes(servername)) return undefined;
  return new Error(`x509: certificate is valid for ${names.join(', ')}, not ${servername}`);
}

export interface AdmissionResponseBody {
  uid?: string;
  allowed?: boolean;
  patch?: string;
  patchType?: string;
  status?: { code?: number; message?: string; reason?: string };
  warnings?: string[];
}

/** The `response` of an AdmissionReview, checked for shape and uid. */
export function admissionResponse(body: unknown, uid: string): AdmissionResponseBody {
  if (!isRecord(body) || body.kind !== 'AdmissionReview' || !isRecord(body.response)) {
    throw new Error('received invalid webhook response: expected an AdmissionReview with a response');
  }
  const response = body.response as AdmissionResponseBody;
  if (response.uid !== uid) throw new Error(`expected response.uid="${uid}", got "${String(response.uid)}"`);
  return response;
}
