/**
 * The JSON logger every part uses (pino, as fastify does), with tokens and
 * secrets redacted wherever they might appear in a logged object.
 */
import pino, { type Logger } from 'pino';

export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'inputs.token',
  '*.inputs.token',
  'body.inputs.token',
  'token',
  '*.token',
  'secretAccessKey',
  '*.secretAccessKey',
  'bucketSecret',
  '*.bucketSecret',
  'apiToken',
  '*.apiToken',
];

export function createLogger(name: string, level = process.env.LOG_LEVEL ?? 'info'): Logger {
  return pino({ name, level, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } });
}
