/**
 * What the deploy tests need to know about our Dockerfiles and their build context, read the way
 * Docker reads them: instructions (continuation lines joined, comments dropped), stages, and the
 * context (the files git would include, filtered by `.dockerignore` with Docker's own matching).
 * Small on purpose: it understands the instructions our Dockerfiles use and fails on others.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { Ignore } from '@balena/dockerignore';
import { REPO_ROOT } from '../support/paths.js';

// A CommonJS package whose typings declare an ES default export: load it as CommonJS.
const dockerignore = createRequire(import.meta.url)('@balena/dockerignore') as (options?: {
  ignorecase?: boolean;
}) => Ignore;

export interface Instruction {
  /** Upper case: FROM, RUN, COPY, ... */
  readonly keyword: string;
  /** Everything after the keyword, continuation lines joined with a space. */
  readonly args: string;
  /** 1-based line of the keyword in the file. */
  readonly line: number;
}

export interface Stage {
  readonly name: string;
  readonly base: string;
  readonly instructions: readonly Instruction[];
}

export interface CopyInstruction {
  readonly from?: string;
  readonly sources: readonly string[];
  readonly dest: string;
}

export function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  let pending = '';
  let pendingLine = 0;
  text.split('\n').forEach((raw, index) => {
    const line = raw.trimEnd();
    const trimmed = line.trim();
    if (trimmed.startsWith('#') || (trimmed === '' && pending === '')) return;
    if (pending === '') pendingLine = index + 1;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1).trim()} `;
      return;
    }
    const full = (pending + trimmed).trim();
    pending = '';
    if (full === '') return;
    const match = /^(\S+)\s*(.*)$/s.exec(full);
    if (!match) return;
    out.push({ keyword: (match[1] ?? '').toUpperCase(), args: match[2] ?? '', line: pendingLine });
  });
  return out;
}

export function readStages(path: string): Stage[] {
  const stages: Array<{ name: string; base: string; instructions: Instruction[] }> = [];
  for (const instruction of parseDockerfile(readFileSync(path, 'utf8'))) {
    if (instruction.keyword === 'FROM') {
      const match = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(instruction.args);
      if (!match) throw new Error(`${path}:${instruction.line}: cannot read FROM ${instruction.args}`);
      stages.push({ name: match[2] ?? String(stages.length), base: match[1] ?? '', instructions: [] });
    } else {
      const current = stages.at(-1);
      if (!current) throw new Error(`${path}:${instruction.line}: ${instruction.keyword} before FROM`);
      current.instructions.push(instruction);
    }
  }
  return stages;
}

/** `COPY [--from=x] [--chown=..] [--link] src... dest` (shell form; our Dockerfiles use no JSON form). */
export function parseCopy(args: string): CopyInstruction {
  const words = args.split(/\s+/).filter(Boolean);
  let from: string | undefined;
  while (words[0]?.startsWith('--')) {
    const flag = words.shift() as string;
    if (flag.startsWith('--from=')) from = flag.slice('--from='.length);
  }
  if (words.length < 2) throw new Error(`COPY needs a source and a destination: ${args}`);
  const dest = words.pop() as string;
  return { ...(from === undefined ? {} : { from }), sources: words, dest };
}

/** A RUN command as the shell sees it: BuildKit's `--mount=...` (and other) flags removed. */
export function runCommand(args: string): string {
  return args.replace(/^(?:--\S+\s+)+/, '');
}

/** The exec-form array of CMD or ENTRYPOINT. */
export function execForm(args: string): string[] {
  const parsed: unknown = JSON.parse(args);
  if (!Array.isArray(parsed) || !parsed.every((w) => typeof w === 'string')) {
    throw new Error(`not an exec-form array: ${args}`);
  }
  return parsed;
}

/** `ENV A=1 B=2` (the `KEY=value` form; values without spaces or quotes, as ours are). */
export function parseEnv(args: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of args.split(/\s+/).filter(Boolean)) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new Error(`ENV must use KEY=value: ${args}`);
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}

/** A stage's instructions as one comparable text (to tell whether two Dockerfiles share a stage). */
export function stageText(stage: Stage): string {
  return [
    `FROM ${stage.base} AS ${stage.name}`,
    ...stage.instructions.map((i) => `${i.keyword} ${i.args}`),
  ].join('\n');
}

/**
 * The build context Docker would send: the files git would include (tracked, plus untracked files
 * that are not git-ignored), minus what `.dockerignore` excludes, as repository-relative paths.
 */
export function buildContextFiles(): string[] {
  const listed = execFileSync('git', ['ls-files', '-co', '--exclude-standard', '-z'], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
  })
    .split('\0')
    .filter(Boolean);
  const ignore = dockerignoreMatcher();
  return listed.filter((file) => !ignore(file)).sort();
}

/** Whether `.dockerignore` excludes a repository-relative path (Docker's pattern semantics). */
export function dockerignoreMatcher(): (path: string) => boolean {
  const matcher = dockerignore({ ignorecase: false }).add(
    readFileSync(join(REPO_ROOT, '.dockerignore'), 'utf8'),
  );
  return (path) => matcher.ignores(path);
}
