/**
 * POST /processes/{processId}/execution: validate, create the Job, then
 * answer asynchronously (201 + Location) or wait for the result, as the
 * process's jobControlOptions and the client's Prefer header decide.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { findProcess, type ApiContext } from '../context.js';
import { buildJob } from '../execution/job-manifest.js';
import { checkInputsSize, checkToken, validateInputs } from '../execution/inputs.js';
import { invalidParameter, jobFailed, noSuchOutput, noSuchProcess, resultsUnavailable, unavailable } from '../ogc/exceptions.js';
import { checkSubscriberUrl, redactUrl } from '../callbacks/subscriber-url.js';
import { CallbackRefused, resolveChecked } from '../callbacks/post-callback.js';
import { parseIp } from '../../lib/net/address-policy.js';
import { checkActiveJobs, principalKey, principalOf } from '../limits.js';
import { jobLinks } from '../ogc/links.js';
import { executeRouteSchema, type ExecuteExample } from '../ogc/openapi-schemas.js';
import { waitForJob } from '../jobs/wait-for-job.js';
import { jobResult } from '../jobs/result-source.js';
import { outputsOf, resultsAnswer, selectOutputs } from '../jobs/results.js';
import { responseMode } from '../../lib/results-request.js';
import { sendAnswer } from '../jobs/results-document.js';
import type { StatusInfo } from '../../lib/job-status.js';
import { ANNOTATIONS } from '../../lib/contract.js';
import { guard } from '../auth/guard.js';
import { OgcError, crossSiteRefused } from '../ogc/exceptions.js';
import { processDescription } from '../ogc/process-documents.js';
import { crossSiteForm, isForm, sendHtml, siteOf } from '../html/respond.js';
import { parseForm } from '../html/form-inputs.js';
import { processPage, type ProcessDoc } from '../html/discovery-pages.js';
import { isRecord } from '../../lib/is-record.js';

/** An execute request, its shapes already checked by the route schema (executeSchema). */
interface ExecuteBody {
  inputs?: Record<string, unknown>;
  outputs?: Record<string, unknown>;
  response?: 'raw' | 'document';
  subscriber?: Record<string, string>;
}

/** The example of Swagger UI's "try it out": a configured process's own example, one that needs no token first. */
function executeExample(context: ApiContext): ExecuteExample | undefined {
  const withExample = context.config.processes.filter((p) => isRecord(p.metadata.example));
  const chosen = withExample.find((p) => !p.checkAuth) ?? withExample[0];
  return chosen ? { processId: chosen.id, body: chosen.metadata.example as Record<string, unknown> } : undefined;
}

/** Each subscriber URL: scheme, credentials, and every address its host resolves to (checked again when sending). */
async function checkSubscriber(subscriber: Record<string, string>, context: ApiContext): Promise<void> {
  for (const [key, uri] of Object.entries(subscriber)) {
    const checked = checkSubscriberUrl(uri, context.callbackPolicy);
    if (!checked.ok) throw invalidParameter(`subscriber.${key} (${redactUrl(uri)}) ${checked.problem}`);
    if (parseIp(checked.url.hostname)) continue;
    try {
      await resolveChecked(checked.url.hostname, context.resolver, context.callbackPolicy.allow);
    } catch (error) {
      if (error instanceof CallbackRefused) throw invalidParameter(`subscriber.${key} (${redactUrl(uri)}) ${error.message}`);
      throw unavailable(`subscriber.${key}: ${(error as Error).message}; try again later`);
    }
  }
}

function prefersAsync(header: string | string[] | undefined): boolean {
  const values = Array.isArray(header) ? header : header ? [header] : [];
  return values.some((v) => v.split(',').some((p) => p.trim().toLowerCase().startsWith('respond-async')));
}

export function executionRoutes(app: FastifyInstance, context: ApiContext): void {
  const base = context.config.server.url;
  const settings = context.config.settings;

  async function sendResults(reply: FastifyReply, jobId: string, status: StatusInfo, body: ExecuteBody, processId: string): Promise<unknown> {
    const process = findProcess(context, processId);
    const found = { status, job: context.jobs.job(jobId) };
    const result = await jobResult(context, jobId, found);
    if (!result) throw resultsUnavailable(jobId);
    const outputs = selectOutputs(outputsOf(result, process?.metadata), body.outputs ? Object.keys(body.outputs) : undefined);
    reply.header('location', `${base}/jobs/${jobId}`).code(200);
    return sendAnswer(reply, resultsAnswer(outputs, responseMode(body.response)));
  }

  app.post<{ Params: { processId: string }; Body: unknown }>(
    '/processes/:processId/execution',
    { schema: executeRouteSchema(executeExample(context)), onRequest: guard(context.auth, 'execute') },
    async (request, reply) => {
      const process = findProcess(context, request.params.processId);
      if (!process) throw noSuchProcess(request.params.processId);
      if (isForm(request)) return executeForm(request.body as Record<string, string | string[]>, process.id, request, reply);
      return execute(process.id, request.body as ExecuteBody, prefersAsync(request.headers.prefer), reply, request);
    },
  );

  /**
   * The execute form of the process page: the fields become an execute
   * request; problems re-render the form with them next to the fields;
   * otherwise the browser is sent to the job's page (after the job finished,
   * when the form asked to wait).
   */
  async function executeForm(fields: Record<string, string | string[]>, processId: string, request: FastifyRequest, reply: FastifyReply): Promise<unknown> {
    if (crossSiteForm(request.headers, base)) throw crossSiteRefused();
    const process = findProcess(context, processId)!;
    const doc = processDescription(process, base) as unknown as ProcessDoc;
    const submitted = parseForm(doc.inputs ?? {}, fields);
    const values = Object.fromEntries(Object.keys(doc.inputs ?? {}).filter((id) => id !== 'token').map((id) => [id, String([fields[`input.${id}`] ?? ''].flat().pop())]));
    const site = siteOf(context);
    if (Object.keys(submitted.errors).length) return sendHtml(reply, processPage(site, doc, { values, errors: submitted.errors, problem: 'some inputs need fixing' }), 400);
    let jobId: string;
    try {
      const created = await createJob(processId, { inputs: submitted.inputs }, request);
      jobId = created.jobId;
    } catch (error) {
      if (error instanceof OgcError && error.status < 500) return sendHtml(reply, processPage(site, doc, { values, problem: error.message }), error.status);
      throw error;
    }
    if (submitted.mode === 'sync') await waitForJob(context.jobs, jobId, settings.syncExecutionTimeoutSeconds * 1000);
    return reply.code(303).header('location', `${site.root}/jobs/${jobId}`).send();
  }

  /** Validates the request and creates the Job; returns its id and the accepted status document. */
  async function createJob(processId: string, body: ExecuteBody, request: FastifyRequest): Promise<{ jobId: string; accepted: StatusInfo }> {
    const process = findProcess(context, processId)!;
    if (body.subscriber) await checkSubscriber(body.subscriber, context);
    const unknownOutputs = Object.keys(body.outputs ?? {}).filter((id) => !(id in process.metadata.outputs));
    if (unknownOutputs.length) throw noSuchOutput(unknownOutputs);
    const rawInputs = body.inputs ?? {};
    checkToken(process, rawInputs, settings.secrets.apiToken);
    const inputs = validateInputs(process, rawInputs);
    checkInputsSize(inputs, settings.limits.maxInputsBytes);
    const principal = principalKey(principalOf(request));
    checkActiveJobs(context.jobs, settings.limits, principal);
    const jobId = randomUUID();
    const job = buildJob({
      process,
      jobId,
      inputs,
      namespace: context.namespace,
      jobNamePrefix: settings.jobNamePrefix,
      archiveLogs: context.archiveLogs,
      ...(body.subscriber ? { subscriber: body.subscriber } : {}),
      principalKey: principal,
      now: new Date(),
    });
    const owner = request.access ? context.auth.ownerOf(request.access.principal) : undefined;
    // The response mode and the outputs asked for are remembered on the Job: its results answer as the request asked.
    const annotations = {
      ...job.metadata?.annotations,
      ...(owner !== undefined ? { [ANNOTATIONS.owner]: owner } : {}),
      [ANNOTATIONS.response]: responseMode(body.response),
      ...(body.outputs && Object.keys(body.outputs).length ? { [ANNOTATIONS.outputs]: JSON.stringify(Object.keys(body.outputs)) } : {}),
    };
    job.metadata = { ...job.metadata, annotations };
    const created = await context.client.create(job);
    request.log.info({ jobId, processId: process.id, job: created.metadata?.name }, 'job created');

    const accepted: StatusInfo = {
      jobID: jobId,
      processID: process.id,
      type: 'process',
      status: 'accepted',
      message: 'job accepted',
      ...(created.metadata?.creationTimestamp ? { created: new Date(created.metadata.creationTimestamp).toISOString(), updated: new Date(created.metadata.creationTimestamp).toISOString() } : {}),
      progress: 0,
      links: jobLinks(base, jobId, 'accepted'),
    };
    return { jobId, accepted };
  }

  async function execute(processId: string, body: ExecuteBody, wantsAsync: boolean, reply: FastifyReply, request: FastifyRequest): Promise<unknown> {
    const process = findProcess(context, processId)!;
    // Without Prefer: synchronous when the process allows it, else asynchronous (OGC API – Processes 1.0, 7.11.2).
    const options = process.metadata.jobControlOptions;
    const canSync = options.includes('sync-execute');
    const canAsync = options.includes('async-execute') || !canSync;
    const async = canAsync && (wantsAsync || !canSync);
    const { jobId, accepted } = await createJob(processId, body, request);
    if (async) {
      if (wantsAsync) reply.header('preference-applied', 'respond-async');
      return reply.code(201).header('location', `${base}/jobs/${jobId}`).send(accepted);
    }
    const final = await waitForJob(context.jobs, jobId, settings.syncExecutionTimeoutSeconds * 1000);
    if (!final) {
      // Still running at the limit: hand the client the job to follow, as an asynchronous execution would.
      const current = context.jobs.status(jobId) ?? accepted;
      return reply.code(201).header('location', `${base}/jobs/${jobId}`).send({ ...current, links: jobLinks(base, jobId, current.status) });
    }
    if (final.status !== 'successful') throw jobFailed(jobId, final.message ?? final.status);
    return sendResults(reply, jobId, final, body, process.id);
  }
}
