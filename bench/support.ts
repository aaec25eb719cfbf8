import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../', import.meta.url));
export const SHARED_EVENTS_DIR = fileURLToPath(new URL('../../shared/data/recentchange/', import.meta.url));

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

export function fmt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** Starts a TypeScript entry as a child and resolves with the first stdout line matching `ready`. */
export function startChild(
  args: readonly string[],
  ready: RegExp,
  env: Record<string, string> = {},
): Promise<{ child: ChildProcess; match: RegExpMatchArray }> {
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (chunk) => {
      out += chunk;
      const match = ready.exec(out);
      if (match) resolve({ child, match });
    });
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited with ${code} before ready`)));
  });
}

/** Stops a child started with startChild and waits for it to end. */
export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const ended = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await ended;
}

/**
 * The raw in-process limit the issues compare against: JSON.parse plus two Map increments
 * (domain, user) of the same lines in a tight loop. Returns events/s.
 */
export function rawLimit(lines: readonly string[]): number {
  const byDomain = new Map<string, number>();
  const byUser = new Map<string, number>();
  const start = performance.now();
  for (const line of lines) {
    const event = JSON.parse(line) as { meta: { domain: string }; user: string };
    byDomain.set(event.meta.domain, (byDomain.get(event.meta.domain) ?? 0) + 1);
    byUser.set(event.user, (byUser.get(event.user) ?? 0) + 1);
  }
  return lines.length / ((performance.now() - start) / 1000);
}

/** Replay server arguments: `count` events served once, as fast as read, recorded `meta.dt` kept. */
export function replayArgs(count: number): string[] {
  return ['--port', '0', '--rate', '0', '--once', '--keep-time', '--count', String(count), SHARED_EVENTS_DIR];
}

/** The replay server in its own process serving `count` events once, as fast as read (the live stream is another machine, too). */
export function startReplayChild(count: number) {
  return startChild(['cmd/replay/main.ts', ...replayArgs(count)], /replaying \d+ events at (\S+)/);
}

/** The value below which `p` percent of `values` fall (nearest rank). */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}
