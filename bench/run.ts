// `npm run bench [name...]`: runs the benchmarks one after another (never in parallel: two cores)
// and writes their figures to BENCHMARKS.md with the machine and the date.

import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';

/** Every `bench/*.bench.ts` default-exports one of these. */
export interface BenchResult {
  readonly title: string;
  /** Markdown: a short method paragraph and a table of figures. */
  readonly markdown: string;
}

const dir = new URL('.', import.meta.url).pathname;
const only = process.argv.slice(2);
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => only.length === 0 || only.some((name) => f.startsWith(name)))
  .sort();

const sections = new Map<string, string>();
const outPath = join(dir, '..', 'BENCHMARKS.md');
// Keep sections of benchmarks not run this time.
try {
  const old = readFileSync(outPath, 'utf8');
  for (const part of old.split(/^## /m).slice(1)) {
    const title = part.slice(0, part.indexOf('\n')).trim();
    sections.set(title, `## ${part.trimEnd()}\n`);
  }
} catch {
  // first run
}

for (const file of files) {
  process.stdout.write(`running ${file}\n`);
  const mod = (await import(join(dir, file))) as { default: () => Promise<BenchResult> };
  const result = await mod.default();
  process.stdout.write(`${result.markdown}\n`);
  sections.set(
    result.title,
    `## ${result.title}\n\n_Run ${new Date().toISOString()}_\n\n${result.markdown.trim()}\n`,
  );
}

const cpu = cpus()[0]?.model ?? 'unknown CPU';
const header =
  `# Benchmarks\n\nWritten by \`npm run bench\`. Machine: ${cpus().length} x ${cpu}, ` +
  `${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${process.platform}/${process.arch}.\n` +
  'Each section says when it ran; figures within a section come from one run on this noisy machine.\n';
writeFileSync(outPath, `${header}\n${[...sections.values()].join('\n')}`);
process.stdout.write(`wrote ${outPath}\n`);
