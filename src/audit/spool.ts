import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, readFile, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { auditEvent, type AuditEvent } from './events.js';
import { mapInTurns } from './in-turns.js';

/**
 * The audit spool: where batches go while Postgres cannot take them, until the writer replays
 * them. An append-only directory of NDJSON segments `spool-<seq>.ndjson` (one event per line),
 * read and removed oldest first. Every append is one write of whole lines followed by fsync, so
 * once `append` resolves the batch survives a crash or power loss. A crash in the middle of an
 * append leaves at most a truncated last line, which readers skip (and count). Segments rotate
 * at about `segmentBytes`; segments left by an earlier process are found again by `open`.
 *
 * `rejected.ndjson` in the same directory keeps rows Postgres refused as invalid (never replayed).
 */

export interface SpoolOptions {
  readonly dir: string;
  /** A segment is closed for appends once it reaches this size (default 8 MiB). */
  readonly segmentBytes?: number;
}

/** One segment: its file name and the complete lines it holds. */
export interface SpoolSegment {
  readonly name: string;
  readonly rows: number;
}

export const DEFAULT_SEGMENT_BYTES = 8 * 1024 * 1024;
export const REJECTED_FILE = 'rejected.ndjson';

const SEGMENT_NAME = /^spool-(\d{12})\.ndjson$/;
const NEWLINE = 0x0a;

interface ActiveSegment {
  readonly name: string;
  readonly handle: FileHandle;
  size: number;
}

export class Spool {
  readonly dir: string;
  readonly #segmentBytes: number;
  /** Segments oldest first (by sequence number), with their row counts. */
  readonly #segments = new Map<string, number>();
  #active: ActiveSegment | null = null;
  #nextSeq = 1;
  #pendingRows = 0;
  #skippedLines = 0;
  #opened = false;
  /** Appends, seals and removals run one at a time, in call order. */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(options: SpoolOptions) {
    this.dir = options.dir;
    this.#segmentBytes = options.segmentBytes ?? DEFAULT_SEGMENT_BYTES;
  }

  /** Creates the directory if needed and takes stock of the segments already in it. */
  open(): Promise<void> {
    return this.#serial(() => this.#open());
  }

  /** Appends one batch as lines and fsyncs it; rejects (appending nothing) when that fails. */
  append(events: readonly AuditEvent[]): Promise<void> {
    return this.#serial(() => this.#append(events));
  }

  /** The oldest segment, closed for appends so it can be read in full; null when the spool is empty. */
  oldestSegment(): Promise<string | null> {
    return this.#serial(async () => {
      const oldest = this.#segments.keys().next();
      if (oldest.done) return null;
      if (this.#active?.name === oldest.value) await this.#seal();
      return oldest.value;
    });
  }

  /**
   * The events of a segment, in order, streamed. Lines that are not an event (a crash-truncated
   * last line, or damage) are skipped and counted in `skippedLines()`.
   */
  async *readSegment(name: string): AsyncGenerator<AuditEvent> {
    const lines = createInterface({ input: createReadStream(join(this.dir, name)), crlfDelay: Infinity });
    try {
      for await (const line of lines) {
        if (line === '') continue;
        const event = parseLine(line);
        if (event === null) this.#skippedLines += 1;
        else yield event;
      }
    } finally {
      lines.close();
    }
  }

  /** Deletes a segment whose events are safely elsewhere. */
  removeSegment(name: string): Promise<void> {
    return this.#serial(async () => {
      if (this.#active?.name === name) await this.#seal();
      try {
        await unlink(join(this.dir, name));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
      this.#pendingRows -= this.#segments.get(name) ?? 0;
      this.#segments.delete(name);
    });
  }

  /** Keeps events Postgres refused as invalid in `rejected.ndjson` (fsynced), for a human to look at. */
  quarantine(events: readonly AuditEvent[]): Promise<void> {
    return this.#serial(async () => {
      await mkdir(this.dir, { recursive: true });
      const handle = await open(join(this.dir, REJECTED_FILE), 'a');
      try {
        await writeAll(handle, Buffer.from(await lines(events)));
        await handle.sync();
      } finally {
        await handle.close();
      }
    });
  }

  /** Rows waiting in the spool (complete lines of every segment). */
  pendingRows(): number {
    return this.#pendingRows;
  }

  hasSegments(): boolean {
    return this.#segments.size > 0;
  }

  /** Segments oldest first. */
  segments(): SpoolSegment[] {
    return [...this.#segments].map(([name, rows]) => ({ name, rows }));
  }

  /** Lines skipped by readSegment so far (truncated or damaged). */
  skippedLines(): number {
    return this.#skippedLines;
  }

  /** Closes the segment open for appends; the spool can be used again afterwards. */
  close(): Promise<void> {
    return this.#serial(() => this.#seal());
  }

  // ---- internals

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #open(): Promise<void> {
    if (this.#opened) return;
    await mkdir(this.dir, { recursive: true });
    const names = (await readdir(this.dir)).filter((f) => SEGMENT_NAME.test(f)).sort();
    for (const name of names) {
      const rows = countLines(await readFile(join(this.dir, name)));
      this.#segments.set(name, rows);
      this.#pendingRows += rows;
      this.#nextSeq = Math.max(this.#nextSeq, Number(SEGMENT_NAME.exec(name)![1]) + 1);
    }
    this.#opened = true;
  }

  async #append(events: readonly AuditEvent[]): Promise<void> {
    if (events.length === 0) return;
    // A spool that could not be opened earlier (directory missing, full disk) is retried on every append.
    await this.#open();
    const data = Buffer.from(await lines(events));
    const segment = this.#active ?? (await this.#create());
    try {
      await writeAll(segment.handle, data, segment.size);
      await segment.handle.sync();
    } catch (err) {
      // Cut back what may have been half-written so the next batch starts on a line of its own; when
      // even that fails the segment is closed, and the next append starts a new one.
      const cut = await segment.handle.truncate(segment.size).then(
        () => true,
        () => false,
      );
      if (!cut || segment.size === 0) await this.#seal();
      if (segment.size === 0) await this.#discard(segment.name);
      throw err;
    }
    segment.size += data.length;
    this.#segments.set(segment.name, (this.#segments.get(segment.name) ?? 0) + events.length);
    this.#pendingRows += events.length;
    if (segment.size >= this.#segmentBytes) await this.#seal();
  }

  async #create(): Promise<ActiveSegment> {
    const name = `spool-${String(this.#nextSeq).padStart(12, '0')}.ndjson`;
    const handle = await open(join(this.dir, name), 'wx');
    this.#nextSeq += 1;
    this.#active = { name, handle, size: 0 };
    this.#segments.set(name, 0);
    // The new file's directory entry must be durable too, or an fsynced batch could vanish with it.
    await syncDirectory(this.dir);
    return this.#active;
  }

  async #seal(): Promise<void> {
    const active = this.#active;
    if (active === null) return;
    this.#active = null;
    await active.handle.close().catch(() => undefined);
  }

  async #discard(name: string): Promise<void> {
    this.#segments.delete(name);
    await unlink(join(this.dir, name)).catch(() => undefined);
  }
}

async function lines(events: readonly AuditEvent[]): Promise<string> {
  return (await mapInTurns(events, (event) => `${JSON.stringify(event)}\n`)).join('');
}

/** One spool line back to an event; null when it is not one (truncated, damaged). */
function parseLine(line: string): AuditEvent | null {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const v = value as Record<string, unknown>;
  if (typeof v['requestId'] !== 'string' || v['requestId'] === '' || typeof v['ts'] !== 'number') return null;
  if (typeof v['method'] !== 'string' || typeof v['path'] !== 'string' || typeof v['action'] !== 'string' || typeof v['status'] !== 'number') {
    return null;
  }
  // Normalising again is a no-op for what this spool wrote, and makes anything else insertable.
  return auditEvent(v as unknown as AuditEvent);
}

/** Complete (newline-terminated, non-empty) lines in a segment. */
function countLines(bytes: Buffer): number {
  let count = 0;
  let start = 0;
  for (let i = bytes.indexOf(NEWLINE); i !== -1; i = bytes.indexOf(NEWLINE, i + 1)) {
    if (i > start) count += 1;
    start = i + 1;
  }
  return count;
}

async function writeAll(handle: FileHandle, data: Buffer, position?: number): Promise<void> {
  let offset = 0;
  while (offset < data.length) {
    const { bytesWritten } = await handle.write(data, offset, data.length - offset, position === undefined ? null : position + offset);
    offset += bytesWritten;
  }
}

async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r').catch(() => null);
  if (handle === null) return;
  try {
    await handle.sync();
  } catch {
    // Some platforms and file systems cannot fsync a directory; the data itself is still synced.
  } finally {
    await handle.close();
  }
}
