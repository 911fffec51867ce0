import type { AddressInfo } from 'node:net';
import type { Test } from 'tap';
import { request as undiciRequest, Agent } from 'undici';
import { buildApp, type BuildOptions, type Sidecache } from '../../src/app.js';
import type { Config } from '../../src/config/types.js';

export interface RunningProxy extends Sidecache {
  readonly url: string;
  /** Sends a request to the proxy over a real socket; the body is read fully. */
  fetch(path: string, init?: { method?: string; headers?: Record<string, string | string[]>; body?: string | Buffer }): Promise<ProxyResponse>;
}

export interface ProxyResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  json(): unknown;
}

/** Builds sidecache from a config, listens on 127.0.0.1:0, and closes it when the test ends. */
export async function startProxy(t: Test, config: Config, options: { now?: () => number; clock?: BuildOptions['clock']; logger?: BuildOptions['logger'] } = {}): Promise<RunningProxy> {
  const sidecache = await buildApp(config, { logger: options.logger ?? false, now: options.now ?? options.clock?.now, ...(options.clock !== undefined && { clock: options.clock }) });
  await sidecache.app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = sidecache.app.server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  const agent = new Agent({ connections: 256 });
  t.teardown(async () => {
    await agent.close();
    await sidecache.app.close();
  });
  return {
    ...sidecache,
    url,
    async fetch(path, init = {}) {
      const response = await undiciRequest(url + path, {
        dispatcher: agent,
        method: (init.method ?? 'GET') as 'GET',
        headers: init.headers,
        body: init.body,
      });
      const body = Buffer.from(await response.body.arrayBuffer());
      return {
        status: response.statusCode,
        headers: response.headers,
        body,
        json: () => JSON.parse(body.toString('utf8')),
      };
    },
  };
}
