import { type ChildProcess, spawn } from 'node:child_process';
import { onTestFinished } from 'vitest';
import { REPO_ROOT } from './paths.js';
import { waitFor } from './wait-for.js';

export interface RunningChild {
  readonly process: ChildProcess;
  readonly output: () => string;
  /** Resolves with the exit code (or the signal name) once the process ended. */
  readonly exited: Promise<number | string>;
}

/**
 * Starts a TypeScript entry point of ours as a real child process (`node --import tsx`, no npm in
 * between so signals reach it), with exactly the environment given. Killed at test end.
 */
export function startChild(entry: string, env: Record<string, string>): RunningChild {
  const child = spawn(process.execPath, ['--import', 'tsx', entry], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return trackChild(child);
}

/** Collects a child's output and makes sure it is gone when the test ends. */
export function trackChild(child: ChildProcess): RunningChild {
  let output = '';
  child.stdout?.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr?.on('data', (chunk) => {
    output += chunk;
  });
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown'));
  });
  onTestFinished(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
  });
  return { process: child, output: () => output, exited };
}

/**
 * The HTTP port a child bound (started with port 0): read from its `... running` log line, so no
 * test ever guesses a free port.
 */
export function listeningPort(child: RunningChild, timeoutMs = 30_000): Promise<number> {
  return waitFor(
    () => {
      if (child.process.exitCode !== null) throw new Error(`child exited early:\n${child.output()}`);
      for (const line of child.output().split('\n')) {
        if (!line.startsWith('{')) continue;
        const entry = JSON.parse(line) as { msg?: string; port?: number };
        if (entry.msg?.endsWith('running') && typeof entry.port === 'number') return entry.port;
      }
      return undefined;
    },
    { timeoutMs, message: 'the child process to log its HTTP port' },
  );
}
