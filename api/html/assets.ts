/**
 * The pages' stylesheet and their one script, served from /static. The
 * script only makes the job page live (status, progress, log tail);
 * everything else works without it.
 */

export const STYLE_CSS = `
:root { --fg: #1b1f24; --muted: #57606a; --line: #d0d7de; --accent: #0550ae; --bg: #fff; --soft: #f6f8fa; --bad: #a40e26; --good: #116329; }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.5 system-ui, sans-serif; color: var(--fg); background: var(--bg); }
a { color: var(--accent); }
a:focus, button:focus, input:focus, select:focus, textarea:focus, pre:focus { outline: 3px solid #0969da; outline-offset: 2px; }
.skip { position: absolute; left: -999px; } .skip:focus { left: 8px; top: 8px; background: var(--bg); padding: 4px 8px; }
header { display: flex; flex-wrap: wrap; gap: 1rem; align-items: center; padding: .6rem 1.5rem; background: #24292f; }
header a { color: #fff; } .site { font-weight: 700; text-decoration: none; }
header ul { display: flex; gap: 1rem; list-style: none; margin: 0; padding: 0; }
.crumbs ol { display: flex; gap: .4rem; list-style: none; margin: 0; padding: .5rem 1.5rem; font-size: .9rem; }
.crumbs li + li::before { content: "/"; padding-right: .4rem; color: var(--muted); }
main { max-width: 62rem; padding: 0 1.5rem 2rem; }
footer { padding: 1rem 1.5rem; border-top: 1px solid var(--line); font-size: .9rem; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.25rem; margin-top: 2rem; } code { font-size: .9em; }
.lead { font-size: 1.1rem; color: var(--muted); } .muted { color: var(--muted); font-size: .85rem; }
.cards { list-style: none; padding: 0; display: grid; grid-template-columns: repeat(auto-fill, minmax(14rem, 1fr)); gap: 1rem; }
.cards li { border: 1px solid var(--line); border-radius: 6px; padding: .8rem 1rem; } .cards a { font-weight: 600; } .cards p { margin: .3rem 0 0; color: var(--muted); }
table { border-collapse: collapse; width: 100%; } th, td { text-align: left; padding: .45rem .6rem; border-bottom: 1px solid var(--line); vertical-align: top; }
thead th { background: var(--soft); }
.facts { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1rem; } .facts dt { font-weight: 600; } .facts dd { margin: 0; }
.field { margin: .8rem 0; } .field label { display: block; font-weight: 600; } .help { margin: .2rem 0; color: var(--muted); font-size: .9rem; }
input[type=text], input[type=number], input[type=password], select, textarea { font: inherit; padding: .35rem .5rem; border: 1px solid #8c959f; border-radius: 4px; width: 100%; max-width: 30rem; }
label.inline { display: inline-block; margin-right: 1rem; font-weight: 400; }
fieldset { border: 1px solid var(--line); border-radius: 6px; margin: .8rem 0; } .req { font-weight: 400; color: var(--muted); }
.invalid input, .invalid textarea, .invalid select { border-color: var(--bad); } .error, .problem { color: var(--bad); }
.problem { border-left: 4px solid var(--bad); padding: .4rem .8rem; background: #fff0f0; }
button { font: inherit; padding: .45rem 1rem; border-radius: 6px; border: 1px solid #1f883d; background: #1f883d; color: #fff; cursor: pointer; }
button.danger { background: var(--bad); border-color: var(--bad); }
.filters .row { display: flex; flex-wrap: wrap; gap: 0 1rem; } .filters .row .field { flex: 1 1 10rem; }
.jobs { margin-top: 1.5rem; } .pager { display: flex; gap: 1.5rem; margin: 1rem 0; }
.status { display: inline-block; padding: 0 .5rem; border-radius: 1rem; background: var(--soft); border: 1px solid var(--line); font-weight: 600; }
.status-successful { color: var(--good); } .status-failed, .status-dismissed { color: var(--bad); }
progress { width: 20rem; max-width: 70%; height: 1.2rem; vertical-align: middle; }
pre { background: var(--soft); border: 1px solid var(--line); padding: .6rem; overflow: auto; max-height: 24rem; white-space: pre-wrap; word-break: break-word; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
`;

/**
 * Live job page: polls the job's JSON with If-None-Match (the server answers
 * 304 while nothing changed), updates status, message, progress and times in
 * place, tails the log while the job runs, and reloads once when the job
 * finishes, so the results and the final state render on the server.
 */
export const JOB_JS = `(() => {
  const root = document.getElementById('job');
  if (!root) return;
  const jobUrl = root.dataset.jobUrl, logUrl = root.dataset.logUrl;
  const done = (s) => s === 'successful' || s === 'failed' || s === 'dismissed';
  let etag = '', finished = done(root.dataset.status);
  const set = (name, text) => { const el = root.querySelector('[data-field="' + name + '"]'); if (el && el.textContent !== text) el.textContent = text; };
  async function poll() {
    try {
      const r = await fetch(jobUrl, { headers: etag ? { 'If-None-Match': etag } : {}, cache: 'no-store' });
      if (r.status === 200) {
        etag = r.headers.get('etag') || '';
        const job = await r.json();
        const el = root.querySelector('[data-field="status"]');
        el.className = 'status status-' + job.status;
        set('status', job.status);
        set('message', job.message || '');
        const bar = document.getElementById('progress');
        const label = job.progress === undefined ? job.status + ', progress not reported' : job.progress + '%';
        if (job.progress === undefined) bar.removeAttribute('value'); else bar.value = job.progress;
        bar.textContent = label;
        set('progress-text', label);
        for (const k of ['created', 'started', 'finished', 'updated']) if (job[k]) set(k, job[k].replace('T', ' ').replace(/\\.\\d+Z$/, 'Z'));
        root.dataset.status = job.status;
        if (done(job.status)) { await tail(); location.reload(); return; }
      }
    } catch (e) { /* the next poll tries again */ }
    setTimeout(poll, 1000);
  }
  async function tail() {
    const log = document.getElementById('log');
    if (!logUrl || !log) return;
    try {
      const r = await fetch(logUrl, { cache: 'no-store' });
      if (r.ok) { const lines = (await r.text()).split('\\n'); log.textContent = lines.slice(-200).join('\\n') || '(empty)'; log.scrollTop = log.scrollHeight; }
    } catch (e) { /* kept as it was */ }
  }
  async function tailLoop() { await tail(); if (!done(root.dataset.status)) setTimeout(tailLoop, 2000); }
  void tailLoop();
  if (!finished) setTimeout(poll, 500);
})();
`;
