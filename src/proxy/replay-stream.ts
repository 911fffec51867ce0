import { Readable } from 'node:stream';

/**
 * A byte stream of the chunks already read, then the rest of the source. Closing it early
 * (the client left) releases the source instead of leaving it to time out.
 */
export function replayStream(head: readonly Buffer[], rest: AsyncIterator<Buffer>): Readable {
  return Readable.from(chained(head, rest), { objectMode: false });
}

async function* chained(head: readonly Buffer[], rest: AsyncIterator<Buffer>): AsyncGenerator<Buffer> {
  try {
    yield* head;
    for (let next = await rest.next(); !next.done; next = await rest.next()) yield next.value;
  } finally {
    await rest.return?.();
  }
}
