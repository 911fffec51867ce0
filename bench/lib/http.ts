import { request, type Dispatcher } from 'undici';

export interface Timed {
  readonly status: number;
  readonly xCache: string | undefined;
  /** `x-cache-tier` on a hit (memory, redis, postgres). */
  readonly tier: string | undefined;
  readonly bytes: number;
  /** Wall time from sending to the last body byte, in ms. */
  readonly ms: number;
}

const TIMEOUTS = { headersTimeout: 30_000, bodyTimeout: 30_000 } as const;

const first = (value: string | string[] | undefined): string | undefined => (Array.isArray(value) ? value[0] : value);

/** GET `url` through `dispatcher`, reading the whole body inside the timed window. */
export async function timedGet(
  dispatcher: Dispatcher,
  url: string,
  headers?: Record<string, string>,
  timeouts: { headersTimeout: number; bodyTimeout: number } = TIMEOUTS,
): Promise<Timed> {
  const started = performance.now();
  const res = await request(url, { dispatcher, ...timeouts, ...(headers === undefined ? {} : { headers }) });
  const body = await res.body.arrayBuffer();
  const ms = performance.now() - started;
  return { status: res.statusCode, xCache: first(res.headers['x-cache']), tier: first(res.headers['x-cache-tier']), bytes: body.byteLength, ms };
}

/** JSON GET/POST helper for the upstream's control endpoints. */
export async function control(dispatcher: Dispatcher, url: string, method: 'GET' | 'POST' = 'GET'): Promise<unknown> {
  const res = await request(url, { dispatcher, method, ...TIMEOUTS });
  const text = await res.body.text();
  if (res.statusCode >= 400) throw new Error(`${method} ${url}: ${res.statusCode}`);
  return text === '' ? null : (JSON.parse(text) as unknown);
}

/** Runs `task(i)` for i in [0, count) with at most `concurrency` in flight, stopping at `deadline`. */
export async function runPool(
  count: number,
  concurrency: number,
  deadline: number,
  task: (i: number) => Promise<void>,
): Promise<{ attempted: number; timedOut: boolean }> {
  let next = 0;
  let timedOut = false;
  const worker = async () => {
    while (next < count) {
      if (Date.now() > deadline) {
        timedOut = true;
        return;
      }
      await task(next++);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { attempted: next, timedOut };
}

/** POST a JSON body and read the JSON answer, timed (ms to the last body byte); throws on >= 400. */
export async function postJson(
  dispatcher: Dispatcher,
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; json: unknown; ms: number }> {
  const started = performance.now();
  const res = await request(url, {
    dispatcher,
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
    ...TIMEOUTS,
  });
  const text = await res.body.text();
  const ms = performance.now() - started;
  if (res.statusCode >= 400) throw new Error(`POST ${url}: ${res.statusCode} ${text.slice(0, 200)}`);
  return { status: res.statusCode, json: text === '' ? null : (JSON.parse(text) as unknown), ms };
}
