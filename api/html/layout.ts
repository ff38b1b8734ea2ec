/**
 * The frame of every page: landmarks (header, nav, main, footer), a skip
 * link, the stylesheet, and the alternate (JSON) representation.
 */
import { html, type Fragment, type Html } from './template.js';

/** What every page needs to know about the site. */
export interface Site {
  /** Path prefix of the server's public URL ('' at the root), for links that work behind a proxy. */
  root: string;
  title: string;
}

/** What a caller may do on the job pages (access control decides). */
export interface Can {
  readLogs: boolean;
  dismiss: boolean;
}

export interface PageOptions {
  site: Site;
  title: string;
  /** Path (under root) of this resource, for the alternate JSON link. */
  path: string;
  /** Query of this resource without `f`, kept in the alternate link. */
  query?: string;
  body: Fragment;
  /** Breadcrumbs under root: [label, path] pairs, the last one is this page. */
  crumbs?: Array<[string, string]>;
  /** Scripts to load (paths under root), for live updates only. */
  scripts?: string[];
}

export function withFormat(path: string, query: string | undefined, f: 'json' | 'html'): string {
  const q = new URLSearchParams(query ?? '');
  q.delete('f');
  q.set('f', f);
  return `${path}?${q.toString()}`;
}

/** A top-level section (Conformance, Processes, Jobs): breadcrumbs Home › title, the title as its heading. */
export function sectionPage(site: Site, title: string, path: string, query: string | undefined, content: Fragment): Html {
  return page({ site, title, path, query, crumbs: [['Home', '/'], [title, path]], body: html`<h1>${title}</h1>\n${content}` });
}

/** Previous/next links of a paged list: the `prev` and `next` links' queries on this page's path; nothing when there is one page. */
export function pager(site: Site, links: Array<{ href: string; rel: string }>, path: string, labels: { prev: string; next: string }): Html {
  const at = (rel: string): string | undefined => {
    const link = links.find((l) => l.rel === rel);
    const q = link ? link.href.indexOf('?') : -1;
    return link && q >= 0 ? `${site.root}${path}${link.href.slice(q)}` : undefined;
  };
  const prev = at('prev');
  const next = at('next');
  if (!prev && !next) return html``;
  return html`<nav aria-label="Pages" class="pager">${prev ? html`<a rel="prev" href="${prev}">${labels.prev}</a>` : ''}${next ? html`<a rel="next" href="${next}">${labels.next}</a>` : ''}</nav>`;
}

export function page(options: PageOptions): Html {
  const { site } = options;
  const json = site.root + withFormat(options.path, options.query, 'json');
  const crumbs = options.crumbs ?? [];
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${options.title} – ${site.title}</title>
<link rel="stylesheet" href="${site.root}/static/style.css">
<link rel="alternate" type="application/json" href="${json}" title="This page as JSON">
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header>
<a class="site" href="${site.root}/">${site.title}</a>
<nav aria-label="Main">
<ul>
<li><a href="${site.root}/processes">Processes</a></li>
<li><a href="${site.root}/jobs">Jobs</a></li>
<li><a href="${site.root}/conformance">Conformance</a></li>
<li><a href="${site.root}/api/docs">API</a></li>
</ul>
</nav>
</header>
${crumbs.length > 1 ? html`<nav aria-label="Breadcrumb" class="crumbs"><ol>${crumbs.map(([label, path], i) => (i === crumbs.length - 1 ? html`<li><a href="${site.root}${path}" aria-current="page">${label}</a></li>` : html`<li><a href="${site.root}${path}">${label}</a></li>`))}</ol></nav>` : ''}
<main id="main">
${options.body}
</main>
<footer>
<p><a href="${json}" type="application/json">This page as JSON</a></p>
</footer>
${(options.scripts ?? []).map((src) => html`<script src="${site.root}${src}" defer></script>`)}
</body>
</html>
`;
}
