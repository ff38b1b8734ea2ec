/** Process list and process description documents from the configuration. */
import type { LocalizedText, ProcessDefinition } from '../../lib/config/types.js';
import { link, REL, type Link } from './links.js';

export function localized(text: LocalizedText | undefined, language = 'en'): string | undefined {
  if (text === undefined || typeof text === 'string') return text;
  return text[language] ?? Object.values(text)[0];
}

export function processSummary(process: ProcessDefinition, base: string): Record<string, unknown> {
  const m = process.metadata;
  const keywords = Array.isArray(m.keywords) ? m.keywords : m.keywords ? Object.values(m.keywords).flat() : undefined;
  const links: Link[] = [
    link(base, `/processes/${process.id}`, 'self', 'application/json', 'process description'),
    link(base, `/processes/${process.id}?f=html`, 'alternate', 'text/html', 'process description as HTML'),
    link(base, `/processes/${process.id}/execution`, REL.execute, 'application/json', 'execute the process'),
    ...m.links.map((l) => ({ href: l.href, rel: l.rel ?? 'related', ...(l.type ? { type: l.type } : {}), ...(l.title ? { title: l.title } : {}), ...(l.hreflang ? { hreflang: l.hreflang } : {}) })),
  ];
  return {
    id: process.id,
    title: localized(m.title) ?? process.id,
    ...(m.description ? { description: localized(m.description) } : {}),
    ...(keywords?.length ? { keywords } : {}),
    version: String(m.version),
    jobControlOptions: m.jobControlOptions,
    outputTransmission: m.outputTransmission ?? ['value'],
    links,
  };
}

function describeParameter(p: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { schema: p.schema ?? {} };
  for (const key of ['title', 'description'] as const) if (p[key] !== undefined) out[key] = localized(p[key] as LocalizedText);
  for (const key of ['keywords', 'minOccurs', 'maxOccurs', 'metadata']) if (p[key] !== undefined) out[key] = p[key];
  return out;
}

export function processDescription(process: ProcessDefinition, base: string): Record<string, unknown> {
  const m = process.metadata;
  return {
    ...processSummary(process, base),
    inputs: Object.fromEntries(Object.entries(m.inputs).map(([id, d]) => [id, describeParameter(d as Record<string, unknown>)])),
    outputs: Object.fromEntries(Object.entries(m.outputs).map(([id, d]) => [id, describeParameter(d as Record<string, unknown>)])),
  };
}
