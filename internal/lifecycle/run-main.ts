import { WikistreamError } from '../errors.js';
import type { Logger } from '../log/logger.js';

/** What a binary registers to stop cleanly; `what` names it in the log line if it hangs. */
export interface ShutdownStep {
  readonly what: string;
  run(): Promise<void>;
}

/**
 * Errors an operator fixes by hand (a setting, a file in DATA_DIR): their message names what and
 * how, so they end the process with that one line and exit code 2, no stack trace.
 */
const OPERATOR_ERRORS = new Set<string>(['CONFIG_INVALID', 'CHECKPOINT_CORRUPT']);

/**
 * Runs a binary's `main`. A bad configuration or checkpoint ends the process with its one-line
 * message and exit code 2, no stack trace: operators read it in `docker compose logs`.
 */
export function runMain(main: () => Promise<void>): void {
  main().catch((err: unknown) => {
    // A signal during start-up closes what start-up awaits; the shutdown decides the exit code.
    if (shuttingDown) return;
    if (err instanceof WikistreamError && OPERATOR_ERRORS.has(err.code)) {
      process.stderr.write(`wikistream: ${err.message}\n`);
      process.exit(2);
    }
    process.stderr.write(`wikistream: start-up failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  });
}

let shuttingDown = false;

export interface Shutdown {
  /** Registers a step; steps run in reverse order of registration (last started, first stopped). */
  add(step: ShutdownStep): void;
}

/**
 * Installs the SIGINT/SIGTERM handlers at once, before start-up awaits anything, so a signal
 * during start-up still shuts down cleanly: the steps registered so far run (newest first) within
 * `timeoutMs`; exit 0 when all finished, else exit 1 with a log line naming the step that hung.
 * A second signal exits at once.
 */
export function handleShutdown(timeoutMs: number, log: Logger): Shutdown {
  const steps: ShutdownStep[] = [];
  let stopping = false;
  const stop = async (signal: NodeJS.Signals) => {
    if (stopping) {
      log.warn({ signal }, 'second signal: exiting now');
      process.exit(130);
    }
    stopping = true;
    shuttingDown = true;
    log.info({ signal, timeoutMs }, 'shutting down');
    let current = 'start';
    const deadline = setTimeout(() => {
      log.error({ step: current, timeoutMs }, `shutdown did not finish in time: "${current}" hung`);
      process.exit(1);
    }, timeoutMs);
    try {
      for (const step of [...steps].reverse()) {
        current = step.what;
        await step.run();
      }
      clearTimeout(deadline);
      log.info('shutdown complete');
      process.exit(0);
    } catch (err) {
      log.error({ err, step: current }, `shutdown step "${current}" failed`);
      process.exit(1);
    }
  };
  process.on('SIGINT', (s) => void stop(s));
  process.on('SIGTERM', (s) => void stop(s));
  return { add: (step) => steps.push(step) };
}
