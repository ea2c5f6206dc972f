export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFields = Record<string, unknown>;

/** Structured JSON logs, one object per line. */
export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
}

const order: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/**
 * A logger that writes one JSON line per entry at or above `level`.
 * @example const logger = createJsonLogger({ level: 'info' }); logger.info('started', { port: 9090 });
 */
export function createJsonLogger(opts: {
  level: LogLevel;
  write?: (line: string) => void;
  now?: () => Date;
}): Logger {
  const write = opts.write ?? ((line: string) => console.log(line));
  const now = opts.now ?? (() => new Date());
  const min = order[opts.level];
  const log = (level: LogLevel) => (msg: string, fields?: LogFields) => {
    if (order[level] >= min) {
      write(JSON.stringify({ time: now().toISOString(), level, msg, ...fields }));
    }
  };
  return { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
}

/**
 * What a log line may say of an error (API.md section 1: logs never hold secrets). Drizzle wraps a failed
 * statement's error in one whose message and stack hold the SQL and its parameter values (a password hash,
 * a token): only the driver's own error is told, with its SQLSTATE code.
 * @example logger.error('unhandled error', { request_id, ...loggableError(err) });
 */
export function loggableError(err: unknown): { error: string; code?: string; stack?: string } {
  if (!(err instanceof Error)) {
    return { error: String(err) };
  }
  if ('query' in err && 'params' in err) {
    const cause = err.cause instanceof Error ? err.cause : undefined;
    const code = (cause as { code?: unknown } | undefined)?.code;
    return {
      error: `database query failed: ${cause?.message ?? 'no cause given'}`,
      ...(typeof code === 'string' ? { code } : {}),
      ...(cause?.stack ? { stack: cause.stack } : {}),
    };
  }
  return { error: err.message, ...(err.stack ? { stack: err.stack } : {}) };
}
