import { type LevelWithSilent, type Logger, pino } from 'pino';

export type { Logger };

/**
 * The root logger: NDJSON on stdout (pino's default), pretty only when asked for in development
 * (`LOG_FORMAT=pretty`, through a transport so the main thread never formats).
 * Modules take `logger.child({ component })` from it; nothing else creates loggers.
 */
export function createLogger(options: { level: LevelWithSilent; pretty?: boolean; name?: string }): Logger {
  return pino({
    level: options.level,
    base: { service: options.name ?? 'wikistream' },
    timestamp: pino.stdTimeFunctions.isoTime,
    ...(options.pretty ? { transport: { target: 'pino-pretty', options: { colorize: true } } } : {}),
  });
}
