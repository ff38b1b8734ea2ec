/** The conformance classes of OGC API – Processes – Part 1: Core 1.0 this server implements. */
const BASE = 'http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/';

export const CONFORMANCE_CLASSES = ['core', 'ogc-process-description', 'json', 'html', 'oas30', 'job-list', 'dismiss', 'callback'].map(
  (name) => `${BASE}${name}`,
);
