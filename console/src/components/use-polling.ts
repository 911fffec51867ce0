import { useEffect } from 'preact/hooks';

/**
 * Runs `poll` now and again `intervalMs` after each run ends, until the component unmounts;
 * `poll` is told whether it has been stopped meanwhile, so a late answer changes nothing.
 */
export function usePolling(poll: (stopped: () => boolean) => Promise<void>, intervalMs: number): void {
  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const run = async () => {
      await poll(() => stopped);
      if (!stopped) timer = setTimeout(run, intervalMs);
    };
    void run();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, []);
}
