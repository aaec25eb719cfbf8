// Builds the dashboard: bundles web/dashboard.ts (and what it imports) with esbuild and copies the
// static files, into dist/web (or `--out DIR`), where internal/http/dashboard-assets.ts serves them.
// Part of `npm run build`; the tests build into a temporary folder of their own.
import { copyFile, mkdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const web = join(root, 'web');
const { values } = parseArgs({ options: { out: { type: 'string' } } });
const out = resolve(values.out ?? join(root, 'dist', 'web'));

await mkdir(join(out, 'assets'), { recursive: true });
await build({
  entryPoints: [join(web, 'dashboard.ts')],
  outfile: join(out, 'assets', 'dashboard.js'),
  tsconfig: join(web, 'tsconfig.json'),
  bundle: true,
  format: 'iife',
  platform: 'browser',
  // Any browser of the last few years runs ES2020.
  target: 'es2020',
  minify: true,
  legalComments: 'none',
  logLevel: 'warning',
});
await copyFile(join(web, 'index.html'), join(out, 'index.html'));
await copyFile(join(web, 'dashboard.css'), join(out, 'assets', 'dashboard.css'));
await copyFile(join(web, 'favicon.svg'), join(out, 'assets', 'favicon.svg'));
process.stdout.write(`dashboard built into ${out}\n`);
