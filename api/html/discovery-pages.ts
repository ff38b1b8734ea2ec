/** Pages of the discovery resources: landing, conformance, process list, process (with its execute form). */
import { html, type Html } from './template.js';
import { page, pager, sectionPage, type Site } from './layout.js';
import { fieldFor, type Field, type InputDoc } from './form-inputs.js';

interface LinkDoc {
  href: string;
  rel: string;
  type?: string;
  title?: string;
}

export interface ProcessDoc {
  id: string;
  title?: string;
  description?: string;
  version?: string;
  keywords?: string[];
  jobControlOptions?: string[];
  links?: LinkDoc[];
  inputs?: Record<string, InputDoc>;
  outputs?: Record<string, InputDoc>;
}

export function landingPage(site: Site, doc: { title: string; description?: string }): Html {
  const entries: Array<[string, string, string]> = [
    ['/processes', 'Processes', 'what this server can run, each with a form to execute it'],
    ['/jobs', 'Jobs', 'executions: their status, progress, logs and results'],
    ['/conformance', 'Conformance', 'the OGC API – Processes conformance classes this server implements'],
    ['/api/docs', 'API documentation', 'the OpenAPI definition, with a form to try every operation'],
  ];
  return page({
    site,
    title: 'Home',
    path: '/',
    body: html`<h1>${doc.title}</h1>
${doc.description ? html`<p class="lead">${doc.description}</p>` : ''}
<ul class="cards">
${entries.map(([path, label, what]) => html`<li><a href="${site.root}${path}">${label}</a><p>${what}</p></li>`)}
</ul>`,
  });
}

export function conformancePage(site: Site, conformsTo: string[]): Html {
  return sectionPage(
    site,
    'Conformance',
    '/conformance',
    undefined,
    html`<p>This server implements these conformance classes of OGC API – Processes – Part 1: Core 1.0:</p>
<ul>${conformsTo.map((uri) => html`<li><a href="${uri}">${uri.split('/').pop()}</a> <span class="muted">${uri}</span></li>`)}</ul>`,
  );
}

export function processListPage(site: Site, doc: { processes: ProcessDoc[]; links: LinkDoc[] }, query: string): Html {
  return sectionPage(
    site,
    'Processes',
    '/processes',
    query,
    html`<table>
<caption class="visually-hidden">Processes offered by this server</caption>
<thead><tr><th scope="col">Process</th><th scope="col">Description</th><th scope="col">Execution</th></tr></thead>
<tbody>
${doc.processes.map(
  (p) => html`<tr><th scope="row"><a href="${site.root}/processes/${p.id}">${p.title ?? p.id}</a><br><code>${p.id}</code></th><td>${p.description ?? ''}</td><td>${(p.jobControlOptions ?? []).join(', ')}</td></tr>`,
)}
</tbody>
</table>
${pager(site, doc.links, '/processes', { prev: '← Previous page', next: 'Next page →' })}`,
  );
}

export interface FormState {
  /** Submitted text per input id, to fill the form again. */
  values?: Record<string, string>;
  /** Input id → problem, shown next to the field. */
  errors?: Record<string, string>;
  /** A problem with the request as a whole (from the server's validation). */
  problem?: string;
}

function control(field: Field, doc: InputDoc, value: string | undefined, describedBy: string): Html {
  const common = html`id="in-${field.id}" name="${field.name}" aria-describedby="${describedBy}"${field.required && field.kind !== 'boolean' && field.id !== 'token' ? html` required` : ''}`;
  switch (field.kind) {
    case 'boolean':
      return html`<input type="checkbox" ${common}${value === 'on' || value === 'true' ? html` checked` : ''}>`;
    case 'select':
      return html`<select ${common}>${field.required ? '' : html`<option value="">(none)</option>`}${(field.options ?? []).map((o) => html`<option${o === value ? html` selected` : ''}>${o}</option>`)}</select>`;
    case 'integer':
    case 'number':
      return html`<input type="number" ${common}${field.kind === 'integer' ? html` step="1"` : html` step="any"`}${field.min !== undefined ? html` min="${field.min}"` : ''}${field.max !== undefined ? html` max="${field.max}"` : ''} value="${value ?? ''}">`;
    case 'password':
      return html`<input type="password" autocomplete="off" ${common} value="">`;
    case 'json':
      return html`<textarea rows="3" ${common} placeholder="JSON, e.g. ${JSON.stringify(doc.schema?.type === 'array' || field.kind === 'json' ? ['value'] : {})}">${value ?? ''}</textarea>`;
    default:
      return html`<input type="text" ${common} value="${value ?? ''}">`;
  }
}

export function executeForm(site: Site, doc: ProcessDoc, state: FormState = {}): Html {
  const inputs = Object.entries(doc.inputs ?? {});
  const options = doc.jobControlOptions ?? [];
  const modes = [options.includes('async-execute') ? 'async' : undefined, options.includes('sync-execute') ? 'sync' : undefined].filter((m): m is string => m !== undefined);
  return html`<form method="post" action="${site.root}/processes/${doc.id}/execution" class="execute" novalidate>
${state.problem ? html`<div class="problem" role="alert" id="form-problem"><strong>The server did not run the process:</strong> ${state.problem}</div>` : ''}
${inputs.length === 0 ? html`<p>This process takes no inputs.</p>` : ''}
${inputs.map(([id, input]) => {
  const field = fieldFor(id, input);
  const error = state.errors?.[id];
  const help = `help-${id}`;
  const describedBy = error ? `${help} err-${id}` : help;
  return html`<div class="field${error ? ' invalid' : ''}">
<label for="in-${id}">${input.title ?? id}${field.required && id !== 'token' ? html` <span class="req">(required)</span>` : ''}</label>
${control(field, input, state.values?.[id], describedBy)}
<p class="help" id="${help}">${input.description ?? ''} <code>${id}</code>${input.schema?.type ? html`, ${String(input.schema.type)}` : ''}</p>
${error ? html`<p class="error" id="err-${id}">${input.title ?? id}: ${error}</p>` : ''}
</div>`;
})}
${
  modes.length > 1
    ? html`<fieldset><legend>Run</legend>${modes.map((m, i) => html`<label class="inline"><input type="radio" name="mode" value="${m}"${i === 0 ? html` checked` : ''}> ${m === 'async' ? 'in the background (asynchronous)' : 'and wait for the result (synchronous)'}</label>`)}</fieldset>`
    : html`<input type="hidden" name="mode" value="${modes[0] ?? 'async'}">`
}
<button type="submit">Execute</button>
</form>`;
}

export function processPage(site: Site, doc: ProcessDoc, state: FormState = {}): Html {
  const outputs = Object.entries(doc.outputs ?? {});
  return page({
    site,
    title: doc.title ?? doc.id,
    path: `/processes/${doc.id}`,
    crumbs: [['Home', '/'], ['Processes', '/processes'], [doc.title ?? doc.id, `/processes/${doc.id}`]],
    body: html`<h1>${doc.title ?? doc.id}</h1>
${doc.description ? html`<p class="lead">${doc.description}</p>` : ''}
<dl class="facts">
<dt>Identifier</dt><dd><code>${doc.id}</code></dd>
${doc.version ? html`<dt>Version</dt><dd>${doc.version}</dd>` : ''}
<dt>Execution</dt><dd>${(doc.jobControlOptions ?? []).join(', ')}</dd>
${doc.keywords?.length ? html`<dt>Keywords</dt><dd>${doc.keywords.join(', ')}</dd>` : ''}
</dl>
<section aria-labelledby="execute-heading">
<h2 id="execute-heading">Execute</h2>
${executeForm(site, doc, state)}
</section>
${
  outputs.length
    ? html`<section aria-labelledby="outputs-heading"><h2 id="outputs-heading">Outputs</h2><ul>${outputs.map(([id, o]) => html`<li><strong>${o.title ?? id}</strong> <code>${id}</code>${o.description ? html` – ${o.description}` : ''}</li>`)}</ul></section>`
    : ''
}
${
  doc.links?.some((l) => !['self', 'alternate'].includes(l.rel) && !l.rel.startsWith('http://www.opengis.net/'))
    ? html`<section aria-labelledby="links-heading"><h2 id="links-heading">Links</h2><ul>${doc.links.filter((l) => !['self', 'alternate'].includes(l.rel) && !l.rel.startsWith('http://www.opengis.net/')).map((l) => html`<li><a href="${l.href}">${l.title ?? l.href}</a> (${l.rel})</li>`)}</ul></section>`
    : ''
}`,
  });
}
