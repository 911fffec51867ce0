import { LogThrottle } from '../log-throttle.js';

/** The logger the audit writer talks to (pino's shape). */
export interface AuditLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/**
 * Logs a repeated problem at most once per `everyMs` per key, saying how many lines were held
 * back meanwhile: an outage must be loud, but not one line per batch.
 */
export class LoudLog {
  readonly #log: AuditLogger;
  readonly #throttle: LogThrottle;

  constructor(log: AuditLogger, everyMs: number) {
    this.#log = log;
    this.#throttle = new LogThrottle(everyMs);
  }

  say(key: string, level: 'warn' | 'error', obj: Record<string, unknown>, msg: string): void {
    const suppressed = this.#throttle.admit(key);
    if (suppressed === null) return;
    this.#log[level]({ ...obj, ...(suppressed > 0 ? { suppressed } : {}) }, msg);
  }
}

/** An error as one line: `CODE: message` when it has a code. */
export function describe(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return typeof code === 'string' ? `${code}: ${err.message}` : err.message;
  }
  return String(err);
}
