import { useCallback, useEffect, useRef, useState } from 'preact/hooks';

/** One async load's state: data, error, and whether it is running; `reload` runs it again. */
export interface Load<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  reload: () => void;
}

/** Runs `fn` when `deps` change (and on `reload`), dropping answers that arrive out of order. */
export function useLoad<T>(fn: (signal: AbortSignal) => Promise<T>, deps: readonly unknown[], enabled = true): Load<T> {
  const [state, setState] = useState<{ data: T | undefined; error: unknown; loading: boolean }>({ data: undefined, error: undefined, loading: enabled });
  const [tick, setTick] = useState(0);
  const latest = useRef(0);
  useEffect(() => {
    if (!enabled) return;
    const run = ++latest.current;
    const controller = new AbortController();
    setState((s) => ({ ...s, loading: true }));
    fn(controller.signal).then(
      (data) => run === latest.current && setState({ data, error: undefined, loading: false }),
      (error: unknown) => run === latest.current && (error as Error)?.name !== 'AbortError' && setState({ data: undefined, error, loading: false }),
    );
    return () => controller.abort();
  }, [...deps, tick, enabled]);
  const reload = useCallback(() => setTick((n) => n + 1), []);
  return { ...state, reload };
}
