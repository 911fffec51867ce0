import { setTimeout as sleep } from 'node:timers/promises';
import { WebSocket } from 'undici';
import type { Child } from './children.js';

/** Node flags a child needs for `collectGarbage`: SIGUSR1 opens its inspector on a free port. */
export const INSPECTABLE_NODE_ARGS: readonly string[] = ['--inspect-port=127.0.0.1:0'];

/**
 * Runs a full garbage collection in a running child, so what its heap holds afterwards is live
 * data only. SIGUSR1 makes Node open its inspector (it logs the WebSocket URL on stderr), and
 * `HeapProfiler.collectGarbage` runs the GC. Nothing in the child changes for this.
 */
export async function collectGarbage(child: Child, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  process.kill(child.pid, 'SIGUSR1');
  let url: string | undefined;
  while (url === undefined) {
    url = /Debugger listening on (ws:\/\/\S+)/.exec(child.stderrTail())?.[1];
    if (url !== undefined) break;
    if (Date.now() > deadline) throw new Error(`${child.name}: no inspector within ${timeoutMs} ms\n${child.stderrTail()}`);
    await sleep(50);
  }
  const socket = new WebSocket(url);
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${child.name}: HeapProfiler.collectGarbage took over ${timeoutMs} ms`)), Math.max(0, deadline - Date.now()));
      socket.addEventListener('error', () => reject(new Error(`${child.name}: inspector connection failed`)));
      socket.addEventListener('open', () => socket.send(JSON.stringify({ id: 1, method: 'HeapProfiler.collectGarbage' })));
      socket.addEventListener('message', (event) => {
        if ((JSON.parse(String(event.data)) as { id?: number }).id === 1) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
  } finally {
    socket.close();
  }
}
