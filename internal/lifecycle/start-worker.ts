import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * Starts the worker module `name` that sits next to the module `from` (its `import.meta.url`):
 * the built `.js` (dist), or, running from source (tests, `npm run replay`), the `.ts` through
 * tsx, which the worker gets in its `execArgv` unless it inherits it already.
 */
export function startWorker(from: string, name: string, options: WorkerOptions = {}): Worker {
  const built = new URL(`./${name}.js`, from);
  if (existsSync(fileURLToPath(built))) return new Worker(built, options);
  const inherited = options.execArgv ?? process.execArgv;
  const hasTsx = inherited.some(
    (arg, i) =>
      arg.includes('tsx') && (i === 0 || inherited[i - 1] === '--import' || arg.startsWith('--import')),
  );
  return new Worker(new URL(`./${name}.ts`, from), {
    ...options,
    execArgv: hasTsx ? inherited : [...inherited, '--import', 'tsx'],
  });
}
