/**
 * POST /processes/{processId}/execution: validate, create the Job, then
 * answer asynchronously (201 + Location) or wait for the result, as the
 * process's jobControlOptions and the client's Prefer header decide.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { findProcess, type ApiContext } from '../context.js';
import { buildJob } from '../execution/job-manifest.js';
import { checkToken, validateInputs } from '../execution/inputs.js';
import { invalidParameter, jobFailed, noSuchOutput, noSuchProcess, resultsUnavailable } from '../ogc/exceptions.js';
import { jobLinks } from '../ogc/links.js';
import { waitForJob } from '../jobs/wait-for-job.js';
import { jobResult } from '../jobs/result-source.js';
import { outputsOf, rawOutput, resultsDocument, selectOutputs } from '../jobs/results.js';
import type { StatusInfo } from '../../lib/job-status.js';
import { isRecord } from '../../lib/is-record.js';

interface ExecuteBody {
  inputs?: Record<string, unknown>;
  outputs?: Record<string, unknown>;
  response?: 'raw' | 'document';
  subscriber?: { successUri?: string; inProgressUri?: string; failedUri?: string };
}

function parseBody(body: unknown): ExecuteBody {
  if (body === undefined || body === null) return {};
  if (!isRecord(body)) throw invalidParameter('the execute request must be a JSON object');
  if (body.inputs !== undefined && !isRecord(body.inputs)) throw invalidParameter('"inputs" must be an object of input id to value');
  if (body.outputs !== undefined && !isRecord(body.outputs)) throw invalidParameter('"outputs" must be an object of output id to output definition');
  if (body.response !== undefined && body.response !== 'raw' && body.response !== 'document') {
    throw invalidParameter('"response" must be "raw" or "document"');
  }
  if (body.subscriber !== undefined) {
    if (!isRecord(body.subscriber)) throw invalidParameter('"subscriber" must be an object with successUri, inProgressUri and failedUri');
    for (const [key, uri] of Object.entries(body.subscriber)) {
      if (!['successUri', 'inProgressUri', 'failedUri'].includes(key)) throw invalidParameter(`subscriber.${key} is not a known callback`);
      if (typeof uri !== 'string' || !/^https?:\/\//.test(uri)) throw invalidParameter(`subscriber.${key} must be an http(s) URI`);
    }
  }
  return body as ExecuteBody;
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
    reply.header('location', `${base}/jobs/${jobId}`);
    const entries = Object.values(outputs);
    if (body.response === 'raw' && entries.length === 1) {
      const raw = rawOutput(entries[0]!);
      return reply.code(200).type(raw.contentType).send(raw.body);
    }
    return reply.code(200).send(resultsDocument(outputs));
  }

  app.post<{ Params: { processId: string }; Body: unknown }>(
    '/processes/:processId/execution',
    { schema: { summary: 'Execute a process', tags: ['Processes'] } },
    async (request, reply) => {
      const process = findProcess(context, request.params.processId);
      if (!process) throw noSuchProcess(request.params.processId);
      const body = parseBody(request.body);
      const unknownOutputs = Object.keys(body.outputs ?? {}).filter((id) => !(id in process.metadata.outputs));
      if (unknownOutputs.length) throw noSuchOutput(unknownOutputs);
      const rawInputs = body.inputs ?? {};
      checkToken(process, rawInputs, settings.secrets.apiToken);
      const inputs = validateInputs(process, rawInputs);

      const options = process.metadata.jobControlOptions;
      const canSync = options.includes('sync-execute');
      const canAsync = options.includes('async-execute') || !canSync;
      const wantsAsync = prefersAsync(request.headers.prefer);
      const async = canAsync && (wantsAsync || !canSync);

      const jobId = randomUUID();
      const job = buildJob({
        process,
        jobId,
        inputs,
        namespace: context.namespace,
        jobNamePrefix: settings.jobNamePrefix,
        archiveLogs: context.archiveLogs,
        ...(body.subscriber ? { subscriber: body.subscriber as Record<string, string> } : {}),
        now: new Date(),
      });
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
    },
  );
}
