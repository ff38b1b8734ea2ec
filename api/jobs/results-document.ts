/** The results of a job: the document the success callback and the job page use, and the answer of /jobs/{id}/results. */
import type { FastifyReply } from 'fastify';
import { recordedResultsRequest, resultsRequestOf } from '../../lib/results-request.js';
import { findProcess, type ApiContext } from '../context.js';
import { jobFailed, resultNotReady, resultsUnavailable } from '../ogc/exceptions.js';
import { findJob, type FoundJob } from './job-lookup.js';
import { jobResult } from './result-source.js';
import { outputsOf, resultsAnswer, resultsDocument, selectOutputs, type OutputValue, type ResultsAnswer } from './results.js';

export async function jobResultsDocument(context: ApiContext, jobId: string): Promise<Record<string, unknown>> {
  return resultsDocument(await jobOutputs(context, jobId));
}

/** The outputs of a successful job; 404/500 exceptions when there are none to give. */
export async function jobOutputs(context: ApiContext, jobId: string, given?: FoundJob): Promise<Record<string, OutputValue>> {
  const found = given ?? (await findJob(context, jobId));
  const status = found.status.status;
  if (status === 'failed') throw jobFailed(jobId, found.status.message ?? 'the job failed');
  if (status !== 'successful') throw resultNotReady(jobId, status);
  const result = await jobResult(context, jobId, found);
  if (!result) throw resultsUnavailable(jobId);
  const process = found.status.processID ? findProcess(context, found.status.processID) : undefined;
  return outputsOf(result, process?.metadata);
}

/**
 * GET /jobs/{id}/results: the outputs the execution asked for, in the
 * response mode it asked for (raw unless it asked for the document): from the
 * Job while it exists, from the job record once only the archive holds the
 * job. Jobs made by kubectl or the Python manager carry no mode: raw, as the
 * Python manager answers.
 */
export async function jobResultsAnswer(context: ApiContext, jobId: string, found: FoundJob): Promise<ResultsAnswer> {
  const asked = found.job ? resultsRequestOf(found.job.metadata?.annotations) : recordedResultsRequest(found.record?.resultsRequest);
  const outputs = selectOutputs(await jobOutputs(context, jobId, found), asked.outputs);
  return resultsAnswer(outputs, asked.response);
}

export function sendAnswer(reply: FastifyReply, answer: ResultsAnswer): FastifyReply {
  return 'document' in answer ? reply.send(answer.document) : reply.type(answer.raw.contentType).send(answer.raw.body);
}
