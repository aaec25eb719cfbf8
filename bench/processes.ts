// Processes a benchmark runs as users run them: the built binaries (`dist/`), the bare kafkajs
// baselines, the broker. Each is its own OS process on loopback; the bench process only watches.
import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './support.js';

export interface Watched {
  readonly child: ChildProcess;
  /** Resolves with the time (performance.now()) a stdout line matching `pattern` arrived. */
  line(pattern: RegExp): Promise<{ at: number; match: RegExpMatchArray }>;
  output(): string;
}

/** Spawns `node ARGS` (no tsx: `dist/` binaries) or `node --import tsx ARGS` (`.ts` entries). */
export function spawnNode(
  args: readonly string[],
  env: Record<string, string> = {},
  nodeFlags: string[] = [],
): Watched {
  const tsx = args[0]?.endsWith('.ts') ? ['--import', 'tsx'] : [];
  const child = spawn(process.execPath, [...nodeFlags, ...tsx, ...args], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const waiters: Array<{ pattern: RegExp; resolve: (v: { at: number; match: RegExpMatchArray }) => void }> =
    [];
  const check = () => {
    for (const w of [...waiters]) {
      const match = w.pattern.exec(out);
      if (match) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve({ at: performance.now(), match });
      }
    }
  };
  child.stdout?.on('data', (chunk) => {
    out += chunk;
    if (out.length > 1_000_000) out = out.slice(-100_000); // chatty children: keep the tail
    check();
  });
  child.stderr?.on('data', (chunk) => {
    out += chunk;
  });
  return {
    child,
    output: () => out,
    line: (pattern) =>
      new Promise((resolve, reject) => {
        waiters.push({ pattern, resolve });
        check();
        child.once('exit', (code) =>
          reject(new Error(`${args.join(' ')} exited with ${code} before ${pattern}:\n${out.slice(-2000)}`)),
        );
      }),
  };
}

/** SIGTERM, then wait for the exit (SIGKILL after 15 s). */
export async function stop(watched: Watched | undefined): Promise<void> {
  const child = watched?.child;
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const ended = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await ended;
  clearTimeout(timer);
}

/** CPU seconds (user + system) a process used so far, from /proc; 0 where there is none. */
export function cpuSeconds(pid: number | undefined): number {
  try {
    return statCpuSeconds(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return 0;
  }
}

/** utime + stime of a `/proc/.../stat` line, in seconds (clock ticks, 100/s); the name may hold spaces. */
function statCpuSeconds(stat: string): number {
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** What a Node process's threads do, by their OS thread names (`/proc/PID/task/TID/comm`). */
export type ThreadKind = 'main' | 'worker' | 'gc' | 'libuv' | 'other';

/**
 * CPU seconds so far of each kind of thread of a process: the JS main thread, worker_threads
 * (`WorkerThread`), V8's helper threads (`V8Worker`: parallel scavenges, concurrent marking), and
 * libuv's pool (`libuv-worker`: zlib, fs). Empty where there is no such process.
 */
export function threadCpuSeconds(pid: number | undefined): Partial<Record<ThreadKind, number>> {
  const out: Partial<Record<ThreadKind, number>> = {};
  let tids: string[] = [];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const kind: ThreadKind =
        tid === String(pid)
          ? 'main'
          : name.startsWith('WorkerThread')
            ? 'worker'
            : name.startsWith('V8Worker')
              ? 'gc'
              : name.startsWith('libuv-worker')
                ? 'libuv'
                : 'other';
      out[kind] = (out[kind] ?? 0) + statCpuSeconds(stat);
    } catch {
      // the thread ended between listing and reading: its time is gone with it
    }
  }
  return out;
}

export const dist = (entry: string) => join('dist', 'cmd', entry, 'main.js');

/**
 * A binary as `npm run start:<name>` runs it (and the image's CMD, see the deploy tests): its node
 * flags and entry, read from package.json, so a bench measures the binary as users start it.
 */
export function startArgs(name: 'producer' | 'consumer'): string[] {
  const { scripts } = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
    scripts: Record<string, string>;
  };
  const [node, ...args] = (scripts[`start:${name}`] ?? '').split(' ');
  if (node !== 'node' || args.at(-1) !== dist(name)) {
    throw new Error(`package.json start:${name} must be "node [flags] ${dist(name)}"`);
  }
  return args;
}
