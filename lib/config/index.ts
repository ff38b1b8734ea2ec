/** The configuration layer: pygeoapi YAML file plus environment, checked and normalised. */
export { checkConfigFile, evaluateConfig, loadConfigFile, type ConfigCheck, type ConfigEvaluation } from './load.js';
export {
  environmentMarkdown,
  ENVIRONMENT,
  ENVIRONMENT_VARIABLES,
  readSettings,
  REDACTED,
  type Env,
  type EnvironmentVariable,
} from './environment.js';
export { ConfigError } from './errors.js';
export type * from './types.js';
