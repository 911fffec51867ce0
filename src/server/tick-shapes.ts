import { executionAsyncResource } from 'node:async_hooks';

const kept: object[] = [];

/**
 * Keeps one of Node's `process.nextTick` objects alive for the life of the process.
 *
 * Why: `nextTick` builds each tick as a literal with computed symbol keys
 * (`{[async_id_symbol]: …, [trigger_async_id_symbol]: …, callback, args}`). Perf profiles of
 * fresh sidecache processes under hit load found 6 of 16 spending 7–10 % of their CPU
 * in V8's `Runtime_DefineKeyedOwnPropertyInLiteral`, called from those literals: their feedback
 * had gone megamorphic, so each of the ~6 ticks a request schedules (stream end, write done,
 * response finish) defines its keys through a runtime call. V8 holds the maps behind that
 * feedback weakly; a process whose major GC finds no tick object alive loses them, and the next
 * tick sees a new map. With one tick object held from the start, 0 of 15 processes went that way
 * against 6 of 16 without (README, Hit path). Inside a nextTick callback the current async
 * resource is the tick object itself; the promise resolves with it.
 */
export function keepNextTickShapes(): Promise<object> {
  return new Promise((resolve) =>
    process.nextTick(() => {
      const tick = executionAsyncResource();
      kept.push(tick);
      resolve(tick);
    }),
  );
}
