/**
 * Reading a Dockerfile and a .dockerignore the way the builder does, as far
 * as the tests need: stages with their instructions (continuation lines
 * joined, comments dropped), COPY sources and destinations, and whether a
 * path of the build context survives .dockerignore.
 */

export interface Instruction {
  op: string;
  /** Everything after the keyword, continuation lines joined. */
  text: string;
}

export interface Stage {
  name: string;
  base: string;
  instructions: Instruction[];
}

export interface Dockerfile {
  /** ARGs before the first FROM (usable in FROM lines). */
  globalArgs: Record<string, string>;
  stages: Stage[];
}

export function parseDockerfile(source: string): Dockerfile {
  const logical: string[] = [];
  let pending = '';
  for (const raw of source.split('\n')) {
    const line = raw.trimEnd();
    if (pending === '' && /^\s*#/.test(line)) continue;
    if (pending !== '' && /^\s*#/.test(line)) continue;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `;
      continue;
    }
    const whole = (pending + line).trim();
    pending = '';
    if (whole !== '') logical.push(whole);
  }
  const result: Dockerfile = { globalArgs: {}, stages: [] };
  for (const line of logical) {
    const [, op = '', text = ''] = /^(\S+)\s*(.*)$/.exec(line) ?? [];
    const upper = op.toUpperCase();
    if (upper === 'FROM') {
      const [base = '', , name] = text.split(/\s+/);
      result.stages.push({ name: name ?? String(result.stages.length), base, instructions: [] });
    } else if (result.stages.length === 0) {
      if (upper === 'ARG') {
        const [key = '', value = ''] = text.split('=', 2);
        result.globalArgs[key] = value;
      }
    } else result.stages.at(-1)!.instructions.push({ op: upper, text });
  }
  return result;
}

export function stage(file: Dockerfile, name: string): Stage {
  const found = file.stages.find((s) => s.name === name);
  if (!found) throw new Error(`no stage ${name}`);
  return found;
}

export function instructions(s: Stage, op: string): string[] {
  return s.instructions.filter((i) => i.op === op).map((i) => i.text);
}

export interface Copy {
  from?: string;
  sources: string[];
  destination: string;
}

export function copies(s: Stage): Copy[] {
  return instructions(s, 'COPY').map((text) => {
    const words = text.split(/\s+/);
    const flags = words.filter((w) => w.startsWith('--'));
    const paths = words.filter((w) => !w.startsWith('--'));
    const from = flags.find((f) => f.startsWith('--from='))?.slice('--from='.length);
    return { ...(from ? { from } : {}), sources: paths.slice(0, -1), destination: paths.at(-1)! };
  });
}

/** The exec-form (JSON) argument list of ENTRYPOINT or CMD. */
export function execForm(s: Stage, op: 'ENTRYPOINT' | 'CMD'): string[] {
  const text = instructions(s, op).at(-1);
  if (text === undefined) throw new Error(`no ${op}`);
  const parsed: unknown = JSON.parse(text);
  if (!Array.isArray(parsed) || !parsed.every((w) => typeof w === 'string')) throw new Error(`${op} is not in exec form`);
  return parsed;
}

/** key="value" pairs of all LABEL instructions. */
export function labels(s: Stage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const text of instructions(s, 'LABEL')) {
    for (const match of text.matchAll(/([\w.-]+)="([^"]*)"/g)) out[match[1]!] = match[2]!;
  }
  return out;
}

function globToRegExp(glob: string): RegExp {
  let out = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*' && glob[i + 1] === '*') {
      out += '.*';
      i++;
      if (glob[i + 1] === '/') i++;
    } else if (c === '*') out += '[^/]*';
    else if (c === '?') out += '[^/]';
    else out += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${out}$`);
}

/** Whether .dockerignore keeps a context path (the last matching pattern decides; `!` re-includes). */
export function keptByDockerignore(dockerignore: string, contextPath: string): boolean {
  let kept = true;
  for (const raw of dockerignore.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const negated = line.startsWith('!');
    const pattern = (negated ? line.slice(1) : line).replace(/^\/+/, '').replace(/\/+$/, '');
    const re = globToRegExp(pattern);
    // A pattern matching a parent directory excludes (or re-includes) what is below it.
    const segments = contextPath.split('/');
    const matches = segments.some((_, i) => re.test(segments.slice(0, i + 1).join('/')));
    if (matches) kept = negated;
  }
  return kept;
}
