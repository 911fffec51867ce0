// The tests' one logger stub: it keeps what it is told, for assertions (or for nothing).

/** Log lines captured as { level, msg, obj }. */
export interface CapturedLog {
  lines: Array<{ level: 'info' | 'warn' | 'error'; msg: string; obj: object }>;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export function captureLog(): CapturedLog {
  const lines: CapturedLog['lines'] = [];
  return {
    lines,
    info: (obj, msg) => lines.push({ level: 'info', msg, obj }),
    warn: (obj, msg) => lines.push({ level: 'warn', msg, obj }),
    error: (obj, msg) => lines.push({ level: 'error', msg, obj }),
  };
}
