/** The results document of a job, as /jobs/{id}/results and the success callback send it. */
import { findProcess, type ApiContext } from '../context.js';
import { jobFailed, resultNotReady, resultsUnavailable } from '../ogc/exceptions.js';
import { findJob, type FoundJob } from './job-lookup.js';
import { jobResult } from './result-source.js';
import { outputsOf, resultsDocument, type OutputValue } from './results.js';

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
