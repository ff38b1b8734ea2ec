/** Types of job-output.mjs (plain JavaScript so containers run it with bare node). */
import type { JobSpec } from './plan.js';

export type Role = 'init' | 'main';
export const LONG_LINE: { start: number; length: number };
export const RESULT_MIMETYPE_MARKER: string;
export const RESULT_START_MARKER: string;
export function plan(spec: JobSpec, role: Role, attempt: number): { bytes: number; newline: boolean; result: boolean; exitCode: number };
export function bodySlice(spec: JobSpec, role: Role, attempt: number, start: number, end: number): Buffer;
export function header(spec: JobSpec, role: Role, attempt: number, pod: string): Buffer;
export function resultValue(spec: JobSpec, attempt: number): string;
export function footer(spec: JobSpec, role: Role, attempt: number): Buffer;
export function sigtermTrailer(written: number): Buffer;
export function outputChunks(spec: JobSpec, role: Role, attempt: number, pod: string, termAfter?: number, chunkBytes?: number): Generator<Buffer>;
export function digestOf(spec: JobSpec, role: Role, attempt: number, pod: string, termAfter?: number): { bytes: number; sha256: string };
