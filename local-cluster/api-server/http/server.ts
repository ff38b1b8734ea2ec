/**
 * The stand-in's HTTP edge: discovery, OpenAPI, resources and pod logs,
 * answered as kube-apiserver answers them (JSON only; see README deviations).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { parse as parseYaml } from 'yaml';
import { ApiError, badRequest, internalError, methodNotAllowed, notAcceptable, notFound, tooManyRequests, successStatus, unsupportedMediaType } from '../errors.js';
import { apiVersionOf, NAMESPACE } from '../resources.js';
import type { Registry } from '../registry.js';
import type { ListOptions } from '../list.js';
import { patchTypeOf } from '../patch/apply-patch.js';
import { PatchError } from '../patch/patch-error.js';
import { SelectorParseError } from '../selectors/label-selector.js';
import { isRecord } from '../types.js';
import type { PropagationPolicy } from '../deletion.js';
import { apiGroup, apiGroupList, apiResourceList, coreVersions, versionInfo } from './discovery.js';
import { groupVersionDocument, openApiIndex } from './openapi.js';
import { OPENAPI_V2_PROTOBUF, openApiV2Protobuf } from './openapi-v2.js';
import { parseResourcePath, type ResourceRequest } from './request-info.js';
import { serveWatch } from './watch.js';
import { toTable, wantsTable } from './table.js';
import type { Faults } from './faults.js';
import type { PodLogSource } from './pod-logs.js';
import { queryBool } from './query.js';
import { decodeKubernetesProtobuf, ProtobufError } from '../protobuf/decode.js';

const PROTOBUF = 'application/vnd.kubernetes.protobuf';
const APPLY_PATCH = 'application/apply-patch+yaml';
import type { AccessControl } from '../../auth/access.js';
import type { Attributes, UserInfo } from '../../auth/rbac.js';
import { requestToken, review } from '../../auth/reviews.js';

const MAX_BODY_BYTES = 3 * 1024 * 1024;

export interface ApiServerOptions {
  host: string;
  port: number;
  /** Serving certificate and key (PEM); clients verify it with the cluster CA in the kubeconfig. */
  tls: { key: string; cert: string };
  registry: Registry;
  faults: Faults;
  logs: PodLogSource;
  access: AccessControl;
  watchTimeoutSeconds: number;
  bookmarkIntervalMs: number;
}

export interface RunningApiServer {
  url: string;
  close(): Promise<void>;
}

function sendJson(res: ServerResponse, code: number, body: unknown): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  // The real server's JSON encoder ends every body with a newline.
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-cache, private' });
  res.end(text);
}

function sendError(res: ServerResponse, error: ApiError): void {
  if (error.code === 429 && error.details?.retryAfterSeconds !== undefined && !res.headersSent) {
    res.setHeader('retry-after', String(error.details.retryAfterSeconds));
  }
  sendJson(res, error.code, error.toStatus());
}

function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  if (error instanceof PatchError) return new ApiError(error.status, error.status === 422 ? 'Invalid' : 'BadRequest', error.message);
  if (error instanceof SelectorParseError) return badRequest(error.message);
  return internalError((error as Error).message ?? String(error));
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new ApiError(413, 'RequestEntityTooLarge', 'the request body is too large');
    chunks.push(chunk as Buffer);
  }
  const body = Buffer.concat(chunks);
  const contentType = (req.headers['content-type'] ?? 'application/json').split(';')[0]!.trim();
  if (contentType === PROTOBUF) {
    if (body.length === 0) return undefined;
    try {
      return decodeKubernetesProtobuf(body);
    } catch (error) {
      if (error instanceof ProtobufError || error instanceof SyntaxError) throw badRequest(`the body of the request could not be decoded as ${PROTOBUF}: ${error.message}`);
      throw error;
    }
  }
  const text = body.toString('utf8');
  if (text.trim() === '') return undefined;
  if (contentType.includes('protobuf') || contentType.includes('cbor')) {
    // client-go falls back to JSON when a server refuses CBOR with 415.
    throw unsupportedMediaType(`the body of the request was in an unknown format (${contentType}) - accepted media types include: application/json, application/yaml, ${PROTOBUF}`);
  }
  try {
    return contentType === 'application/yaml' || contentType === 'application/apply-patch+yaml' ? parseYaml(text) : JSON.parse(text);
  } catch (error) {
    throw badRequest(`the body of the request could not be decoded as ${contentType}: ${(error as Error).message}`);
  }
}

function intParam(query: URLSearchParams, name: string): number | undefined {
  const raw = query.get(name);
  if (raw === null || raw === '') return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value)) throw badRequest(`invalid value for ${name}: "${raw}"`);
  return value;
}

function listOptions(query: URLSearchParams): ListOptions {
  return {
    labelSelector: query.get('labelSelector') ?? undefined,
    fieldSelector: query.get('fieldSelector') ?? undefined,
    limit: intParam(query, 'limit'),
    continue: query.get('continue') ?? undefined,
  };
}

/**
 * A resourceVersion newer than anything stored: the real server waits up to
 * 3 s for it to appear and then answers 504 with the cause client-go's
 * reflector looks for (ResourceVersionTooLarge); nothing here can make it appear.
 */
function rejectFutureResourceVersion(query: URLSearchParams, current: number): void {
  const raw = query.get('resourceVersion');
  if (raw === null || raw === '' || raw === '0') return;
  if (!/^\d+$/.test(raw)) throw badRequest(`invalid resource version: "${raw}"`);
  if (Number(raw) > current) {
    throw new ApiError(504, 'Timeout', `Too large resource version: ${raw}, current: ${current}`, {
      causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }],
      retryAfterSeconds: 1,
    });
  }
}

function propagationOf(value: unknown, orphanDependents: unknown): PropagationPolicy | undefined {
  if (value === undefined || value === null || value === '') {
    if (orphanDependents === true) return 'Orphan';
    if (orphanDependents === false) return 'Background';
    return undefined;
  }
  if (value === 'Background' || value === 'Foreground' || value === 'Orphan') return value;
  throw badRequest(`invalid propagationPolicy: "${String(value)}"; supported values: Background, Foreground, Orphan`);
}

function isDryRun(query: URLSearchParams, body: unknown): boolean {
  const values = query.getAll('dryRun');
  const fromBody = isRecord(body) && Array.isArray(body.dryRun) ? body.dryRun.map(String) : [];
  const all = [...values, ...fromBody];
  for (const v of all) if (v !== 'All') throw badRequest(`Invalid dryRun value: "${v}": supported values: "All"`);
  return all.length > 0;
}

function requestAttributes(user: UserInfo, info: ResourceRequest): Attributes {
  const name = info.name ?? info.selectedName;
  // A namespace is authorized in its own namespace (RequestInfoFactory: namespaces/<n> sets the namespace).
  const namespace = info.type === NAMESPACE ? name : info.namespace;
  return {
    user,
    resourceRequest: true,
    verb: info.verb,
    apiGroup: info.type.group,
    resource: info.type.plural,
    ...(info.subresource ? { subresource: info.subresource } : {}),
    ...(name !== undefined ? { name } : {}),
    ...(namespace !== undefined ? { namespace } : {}),
  };
}

export function startApiServer(options: ApiServerOptions): Promise<RunningApiServer> {
  const { registry, faults } = options;
  const store = registry.store;

  async function handleResource(req: IncomingMessage, res: ServerResponse, info: ResourceRequest, query: URLSearchParams, user: UserInfo): Promise<void> {
    const { type, namespace, name, subresource } = info;
    const context = { user: user.username, ...(user.uid ? { uid: user.uid } : {}), groups: user.groups, dryRun: false };
    if (type.createOnly) {
      if (info.verb !== 'create' || subresource !== undefined) throw methodNotAllowed(`the server does not allow this method on the requested resource`);
      sendJson(res, 201, await review(options.access, { type, namespace, body: await readBody(req), user }));
      return;
    }
    if (subresource === 'token' && type.subresources.includes('token')) {
      if (info.verb !== 'create' || !name) throw methodNotAllowed('the server does not allow this method on the requested resource');
      const serviceAccount = registry.get(type, namespace, name);
      sendJson(res, 201, await requestToken(options.access, serviceAccount, await readBody(req)));
      return;
    }
    if (subresource === 'log') {
      if (info.verb !== 'get' || type.kind !== 'Pod' || !name) throw methodNotAllowed('the server does not allow this method on the requested resource');
      const pod = registry.get(type, namespace, name);
      await options.logs.serve(pod, query, res);
      return;
    }
    if (subresource !== undefined && (subresource !== 'status' || !type.subresources.includes('status'))) {
      throw notFound(type, `${name ?? ''}/${subresource}`);
    }
    const status = subresource === 'status' ? 'status' : undefined;
    if (info.verb === 'get' || info.verb === 'list' || info.verb === 'watch') rejectFutureResourceVersion(query, store.currentRevision);
    switch (info.verb) {
      case 'get': {
        const obj = registry.get(type, namespace, name!);
        sendJson(res, 200, wantsTable(req.headers.accept) ? toTable(type, [obj], { resourceVersion: obj.metadata.resourceVersion }) : obj);
        return;
      }
      case 'list': {
        const result = registry.list(type, namespace, listOptions(query));
        const metadata = {
          resourceVersion: result.resourceVersion,
          ...(result.continue ? { continue: result.continue } : {}),
          ...(result.remainingItemCount !== undefined ? { remainingItemCount: result.remainingItemCount } : {}),
        };
        if (wantsTable(req.headers.accept)) sendJson(res, 200, toTable(type, result.items, metadata));
        else sendJson(res, 200, { kind: `${type.kind}List`, apiVersion: apiVersionOf(type), metadata, items: result.items });
        return;
      }
      case 'watch': {
        const timeout = intParam(query, 'timeoutSeconds') ?? options.watchTimeoutSeconds * (1 + Math.random());
        // Validate selectors before the 200 goes out, so bad ones are a 400.
        registry.list(type, namespace, { ...listOptions(query), fieldSelector: info.fieldSelector, limit: 1, continue: undefined });
        serveWatch(store, faults, type, {
          namespace,
          labelSelector: query.get('labelSelector') ?? undefined,
          fieldSelector: info.fieldSelector,
          resourceVersion: query.get('resourceVersion') ?? undefined,
          allowWatchBookmarks: queryBool(query, 'allowWatchBookmarks') === true,
          timeoutSeconds: timeout,
          bookmarkIntervalMs: options.bookmarkIntervalMs,
          asTable: wantsTable(req.headers.accept),
        }, res);
        return;
      }
      case 'create': {
        const body = await readBody(req);
        context.dryRun = isDryRun(query, undefined);
        sendJson(res, 201, await registry.create(type, namespace, body, context));
        return;
      }
      case 'update': {
        const body = await readBody(req);
        context.dryRun = isDryRun(query, undefined);
        sendJson(res, 200, await registry.update(type, namespace, name!, body, context, status));
        return;
      }
      case 'patch': {
        if ((req.headers['content-type'] ?? '').split(';')[0]!.trim() === APPLY_PATCH) {
          const manager = query.get('fieldManager');
          if (!manager) throw badRequest('PATCH with application/apply-patch+yaml requires the fieldManager query parameter');
          const body = await readBody(req);
          context.dryRun = isDryRun(query, undefined);
          const { object, created } = await registry.apply(type, namespace, name!, body, manager, queryBool(query, 'force') === true, context);
          sendJson(res, created ? 201 : 200, object);
          return;
        }
        const patchType = patchTypeOf(req.headers['content-type']);
        if (!patchType) {
          throw unsupportedMediaType(`the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json, ${APPLY_PATCH}`);
        }
        const body = await readBody(req);
        context.dryRun = isDryRun(query, undefined);
        sendJson(res, 200, await registry.patch(type, namespace, name!, patchType, body, context, status));
        return;
      }
      case 'delete': {
        const body = await readBody(req);
        const opts = isRecord(body) ? body : {};
        context.dryRun = isDryRun(query, body);
        const grace = intParam(query, 'gracePeriodSeconds') ?? (typeof opts.gracePeriodSeconds === 'number' ? opts.gracePeriodSeconds : undefined);
        const preconditions = isRecord(opts.preconditions) ? (opts.preconditions as { uid?: string; resourceVersion?: string }) : undefined;
        const result = await registry.delete(type, namespace, name!, {
          propagationPolicy: propagationOf(query.get('propagationPolicy') ?? opts.propagationPolicy, queryBool(query, 'orphanDependents') ?? opts.orphanDependents),
          gracePeriodSeconds: grace,
          preconditions,
        }, context);
        // Pods come back as the object; other kinds as a Success status once gone.
        if (result.deleted && type.kind !== 'Pod') {
          sendJson(res, 200, successStatus({ name, group: type.group, kind: type.plural, uid: result.object.metadata.uid }));
        } else sendJson(res, 200, result.object);
        return;
      }
      case 'deletecollection': {
        const body = await readBody(req);
        const opts = isRecord(body) ? body : {};
        context.dryRun = isDryRun(query, body);
        const items = await registry.deleteCollection(type, namespace, listOptions(query), {
          propagationPolicy: propagationOf(query.get('propagationPolicy') ?? opts.propagationPolicy, queryBool(query, 'orphanDependents') ?? opts.orphanDependents),
          gracePeriodSeconds: intParam(query, 'gracePeriodSeconds'),
        }, context);
        sendJson(res, 200, { kind: `${type.kind}List`, apiVersion: apiVersionOf(type), metadata: { resourceVersion: String(store.currentRevision) }, items });
        return;
      }
    }
  }

  function handleNonResource(res: ServerResponse, pathname: string, accept: string | undefined): boolean {
    const parts = pathname.split('/').filter(Boolean);
    let body: unknown;
    if (pathname === '/version' || pathname === '/version/') body = versionInfo();
    else if (pathname === '/api' || pathname === '/api/') body = coreVersions();
    else if (pathname === '/apis' || pathname === '/apis/') body = apiGroupList();
    else if (parts[0] === 'api' && parts.length === 2) body = apiResourceList('', parts[1]!);
    else if (parts[0] === 'apis' && parts.length === 2) body = apiGroup(parts[1]!);
    else if (parts[0] === 'apis' && parts.length === 3) body = apiResourceList(parts[1]!, parts[2]!);
    else if (pathname === '/openapi/v2') {
      // kubectl 1.27/1.28 read only the protobuf form; others are told what there is.
      if (!(accept ?? '').includes('protobuf')) throw notAcceptable(`only ${OPENAPI_V2_PROTOBUF} is served at /openapi/v2`);
      const document = openApiV2Protobuf();
      // Requested by that media type, answered as octet-stream (Go cannot parse the '@' in a response type).
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': document.length });
      res.end(document);
      return true;
    } else if (pathname === '/openapi/v3') body = openApiIndex();
    else if (parts[0] === 'openapi' && parts[1] === 'v3' && parts[2] === 'api' && parts.length === 4) body = groupVersionDocument('', parts[3]!);
    else if (parts[0] === 'openapi' && parts[1] === 'v3' && parts[2] === 'apis' && parts.length === 5) body = groupVersionDocument(parts[3]!, parts[4]!);
    else if (['/healthz', '/readyz', '/livez'].includes(pathname)) {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('ok');
      return true;
    } else return false;
    if (body === undefined) return false;
    sendJson(res, 200, body);
    return true;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://local');
    const method = req.method ?? 'GET';
    const injected = faults.errorFor(method, url.pathname);
    if (injected !== undefined) {
      if (injected === 429) throw tooManyRequests(1);
      throw injected === 500 ? internalError('injected fault') : new ApiError(injected, injected === 503 ? 'ServiceUnavailable' : 'Timeout', 'injected fault');
    }
    if (faults.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, faults.delayMs));
    const user = await options.access.authenticate(req.headers);
    const info = parseResourcePath(method, url.pathname, url.searchParams);
    if (!info) {
      options.access.check({ user, resourceRequest: false, verb: method.toLowerCase(), path: url.pathname });
      if (method === 'GET' && handleNonResource(res, url.pathname, req.headers.accept)) return;
      throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
    }
    options.access.check(requestAttributes(user, info));
    await handleResource(req, res, info, url.searchParams, user);
  }

  const server = https.createServer({ key: options.tls.key, cert: options.tls.cert }, (req, res) => {
    handle(req, res).catch((error: unknown) => sendError(res, toApiError(error)));
  });
  // Every TCP connection, also one still in its TLS handshake (closeAllConnections knows only
  // those that reached HTTP): a client reconnecting at the moment of close() would otherwise
  // open a watch nothing ends, and close() would wait for it forever. Entries leave on close.
  const sockets = new Set<Socket>();
  let closing = false;
  server.on('connection', (socket: Socket) => {
    if (closing) {
      socket.destroy();
      return;
    }
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  // Watches are long-lived: no request timeout; keep-alive like the real server.
  server.requestTimeout = 0;
  server.keepAliveTimeout = 65_000;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      const address = server.address() as AddressInfo;
      resolve({
        url: `https://${options.host.includes(':') ? `[${options.host}]` : options.host}:${address.port}`,
        close: () =>
          new Promise((done) => {
            closing = true;
            faults.dropWatches();
            server.close(() => done());
            server.closeAllConnections();
            for (const socket of sockets) socket.destroy();
          }),
      });
    });
  });
}
