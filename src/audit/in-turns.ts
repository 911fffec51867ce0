import { setImmediate } from 'node:timers/promises';

/**
 * Work over a whole audit batch (normalising, encoding) runs off the response path but on the
 * same thread: a batch larger than this is handled this many events per turn of the event loop,
 * so requests run in between.
 */
export const EVENTS_PER_TURN = 1_000;

/** Resolves on a later turn of the event loop, after the I/O callbacks waiting now. */
export const nextTurn = (): Promise<void> => setImmediate();

/** `fn` over `items`, EVENTS_PER_TURN of them per turn of the event loop. */
export async function mapInTurns<T, R>(items: readonly T[], fn: (item: T) => R): Promise<R[]> {
  const out = new Array<R>(items.length);
  for (let i = 0; i < items.length; i++) {
    if (i > 0 && i % EVENTS_PER_TURN === 0) await nextTurn();
    out[i] = fn(items[i]!);
  }
  return out;
}
