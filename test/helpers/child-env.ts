/**
 * The environment for Node children that run the product through tsx: without
 * tap's coverage and process-info hooks. Coverage of the same files compiled
 * by a second loader cannot be merged with the test process's own, and tap
 * then drops the files from the report altogether.
 */
export function childEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (key === 'NODE_OPTIONS' || key === 'NODE_V8_COVERAGE' || key.startsWith('TAP') || key.startsWith('_TAPJS_')) continue;
    env[key] = value;
  }
  // tap's process-info hook re-adds its variables to every spawn; this one keeps the child out of coverage.
  return { ...env, _TAPJS_PROCESSINFO_COVERAGE_: '0', ...extra };
}
