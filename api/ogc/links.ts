/** Links of OGC documents, absolute against the server's public URL. */
export interface Link {
  href: string;
  rel: string;
  type?: string;
  title?: string;
}

export const REL = {
  conformance: 'http://www.opengis.net/def/rel/ogc/1.0/conformance',
  processes: 'http://www.opengis.net/def/rel/ogc/1.0/processes',
  jobList: 'http://www.opengis.net/def/rel/ogc/1.0/job-list',
  execute: 'http://www.opengis.net/def/rel/ogc/1.0/execute',
  results: 'http://www.opengis.net/def/rel/ogc/1.0/results',
  processDescription: 'http://www.opengis.net/def/rel/ogc/1.0/process-desc',
} as const;

export function link(base: string, path: string, rel: string, type = 'application/json', title?: string): Link {
  return { href: `${base}${path}`, rel, type, ...(title ? { title } : {}) };
}

export function jobLinks(base: string, jobId: string, status: string): Link[] {
  const links = [
    link(base, `/jobs/${jobId}`, 'self', 'application/json', 'this job'),
    link(base, `/jobs/${jobId}?f=html`, 'alternate', 'text/html', 'this job as HTML'),
    link(base, `/jobs/${jobId}/logs`, 'log', 'text/plain', 'job log'),
  ];
  // No type: the results come in the output's own media type unless the execution asked for the document.
  if (status === 'successful') links.push({ href: `${base}/jobs/${jobId}/results`, rel: REL.results, title: 'job results' });
  links.push(link(base, '/jobs', 'up', 'application/json', 'the job list'));
  return links;
}
