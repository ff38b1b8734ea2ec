/**
 * One callback POST, hardened: the host is resolved by us and every address
 * checked, and the socket connects to exactly the checked addresses (the
 * check is the agent's `lookup`, so a second DNS answer cannot slip in);
 * redirects are not followed; connecting and the whole exchange have time
 * limits; at most a few KiB of the answer are read.
 */
import dns from 'node:dns';
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { decideAddress, type AllowEntry } from '../../lib/net/address-policy.js';
import { checkSubscriberUrl, redactUrl, type CallbackPolicy } from './subscriber-url.js';

export interface ResolvedAddress {
  address: string;
  family: number;
}

export type Resolver = (host: string) => Promise<ResolvedAddress[]>;

export const systemResolver: Resolver = (host) => dns.promises.lookup(host, { all: true, verbatim: true });

/** Sending to this URL is refused; trying again would not help. */
export class CallbackRefused extends Error {
  override name = 'CallbackRefused';
}

/** This attempt failed; a later one may succeed. */
export class CallbackFailed extends Error {
  override name = 'CallbackFailed';
}

/** Every address the host resolves to, each allowed; throws CallbackRefused naming the first one that is not. */
export async function resolveChecked(host: string, resolver: Resolver, allow: readonly AllowEntry[]): Promise<ResolvedAddress[]> {
  let addresses: ResolvedAddress[];
  try {
    addresses = await resolver(host);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOTFOUND' || code === 'ENODATA') throw new CallbackRefused(`host ${host} does not resolve`);
    throw new CallbackFailed(`resolving ${host} failed (${code ?? 'error'})`);
  }
  if (addresses.length === 0) throw new CallbackRefused(`host ${host} does not resolve`);
  for (const { address } of addresses) {
    const decision = decideAddress(host, address, allow);
    if (!decision.allowed) throw new CallbackRefused(`points at ${decision.reason}`);
  }
  return addresses;
}

/** A `lookup` for net.connect that only ever hands out checked addresses. */
export function checkedLookup(resolver: Resolver, allow: readonly AllowEntry[]): LookupFunction {
  return (hostname, options, callback) => {
    resolveChecked(hostname, resolver, allow).then(
      (addresses) => {
        const wanted = options.family === 4 || options.family === 6 ? addresses.filter((a) => a.family === options.family) : addresses;
        if (wanted.length === 0) callback(Object.assign(new Error(`no IPv${String(options.family)} address for ${hostname}`), { code: 'ENOTFOUND' }), '', 0);
        else if (options.all) callback(null, wanted);
        else callback(null, wanted[0]!.address, wanted[0]!.family);
      },
      (error: Error) => callback(error, '', 0),
    );
  };
}

export interface PostOptions {
  policy: CallbackPolicy;
  resolver?: Resolver;
  connectTimeoutMs: number;
  totalTimeoutMs: number;
  /** Bytes of the answer read at most. Default 4 KiB. */
  maxResponseBytes?: number;
}

/** POSTs `body` (JSON) to `rawUrl`; resolves on a 2xx, throws CallbackRefused or CallbackFailed otherwise. */
export async function postCallback(rawUrl: string, body: string, options: PostOptions): Promise<number> {
  const checked = checkSubscriberUrl(rawUrl, options.policy);
  if (!checked.ok) throw new CallbackRefused(checked.problem);
  const { url } = checked;
  const shown = redactUrl(rawUrl);
  const transport = url.protocol === 'https:' ? https : http;
  const maxBytes = options.maxResponseBytes ?? 4096;
  const status = await new Promise<number>((resolve, reject) => {
    const request = transport.request({
      method: 'POST',
      protocol: url.protocol,
      hostname: url.hostname.replace(/^\[|\]$/g, ''),
      port: url.port || undefined,
      path: `${url.pathname}${url.search}`,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'user-agent': 'k8s-job-manager-callback' },
      lookup: checkedLookup(options.resolver ?? systemResolver, options.policy.allow),
      // A fresh connection per attempt: a pooled socket would skip the address check.
      agent: false,
    });
    // The whole exchange, the answer's body included: a receiver that drips bytes cannot hold a worker.
    const total = setTimeout(() => request.destroy(new CallbackFailed(`no complete answer from ${shown} within ${options.totalTimeoutMs} ms`)), options.totalTimeoutMs);
    request.on('socket', (socket) => {
      if (!socket.connecting) return;
      const connect = setTimeout(() => request.destroy(new CallbackFailed(`could not connect to ${shown} within ${options.connectTimeoutMs} ms`)), options.connectTimeoutMs);
      socket.once('connect', () => clearTimeout(connect));
      socket.once('close', () => clearTimeout(connect));
    });
    request.on('response', (response: IncomingMessage) => {
      let read = 0;
      const done = (): void => {
        clearTimeout(total);
        resolve(response.statusCode ?? 0);
      };
      response.on('data', (chunk: Buffer) => {
        read += chunk.length;
        // Only the status matters; past a few KiB the rest is dropped with the connection.
        if (read > maxBytes) response.destroy();
      });
      response.on('end', done);
      response.on('close', done);
      response.on('error', done);
    });
    request.on('error', (error) => {
      clearTimeout(total);
      if (error instanceof CallbackRefused || error instanceof CallbackFailed) reject(error);
      else reject(new CallbackFailed(`sending to ${shown} failed: ${(error as NodeJS.ErrnoException).code ?? error.message}`));
    });
    request.end(body);
  });
  if (status >= 200 && status < 300) return status;
  if (status >= 300 && status < 400) throw new CallbackRefused(`${shown} answered ${status} (a redirect); redirects are not followed`);
  if (status >= 400 && status < 500 && status !== 408 && status !== 429) throw new CallbackRefused(`${shown} answered ${status}`);
  throw new CallbackFailed(`${shown} answered ${status}`);
}
