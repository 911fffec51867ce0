import { connect, type Socket } from 'node:net';

/** One HTTP/1.1 response exactly as it came off the socket (header case and multiplicity kept). */
export interface RawResponse {
  readonly statusLine: string;
  readonly status: number;
  /** [name, value] pairs in wire order. */
  readonly rawHeaders: ReadonlyArray<readonly [string, string]>;
  readonly body: Buffer;
  /** The 1xx interim responses that came before this final one, in order. */
  readonly interim: readonly RawResponse[];
  /** All values of one (case-insensitive) field, in wire order. */
  all(name: string): string[];
  json(): unknown;
}

/**
 * A client over a plain `node:net` socket, so request lines and headers go out byte for byte
 * (HTTP clients normalise URLs and header names). Understands content-length, chunked and
 * read-until-close bodies, which is enough for keep-alive sequences.
 */
export class RawConnection {
  readonly #socket: Socket;
  #buffer = Buffer.alloc(0);
  #ended = false;
  #error: Error | null = null;
  #wake: (() => void) | null = null;
  #interim: RawResponse[] = [];

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.on('data', (chunk: Buffer) => {
      this.#buffer = Buffer.concat([this.#buffer, chunk]);
      this.#notify();
    });
    socket.on('end', () => {
      this.#ended = true;
      this.#notify();
    });
    socket.on('close', () => {
      this.#ended = true;
      this.#notify();
    });
    socket.on('error', (err) => {
      this.#error = err;
      this.#ended = true;
      this.#notify();
    });
  }

  static open(port: number): Promise<RawConnection> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port }, () => {
        socket.off('error', reject);
        resolve(new RawConnection(socket));
      });
      socket.once('error', reject);
    });
  }

  get ended(): boolean {
    return this.#ended;
  }

  get socketError(): Error | null {
    return this.#error;
  }

  /** Everything received and not yet consumed by `readResponse`. */
  get pending(): Buffer {
    return this.#buffer;
  }

  write(data: string | Buffer): void {
    this.#socket.write(data);
  }

  destroy(): void {
    this.#socket.destroy();
  }

  /** Resolves once the peer has closed the connection (or after `timeoutMs`, with false). */
  async closed(timeoutMs = 2000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.#ended) {
      if (!(await this.#wait(deadline - Date.now()))) return false;
    }
    return true;
  }

  /** Reads the next final (non-1xx) response; `head: true` for responses to HEAD. */
  async readResponse(options: { head?: boolean; timeoutMs?: number } = {}): Promise<RawResponse> {
    const deadline = Date.now() + (options.timeoutMs ?? 5000);
    for (;;) {
      const parsed = this.#tryParse(options.head ?? false);
      if (parsed !== null && parsed.status >= 200) return { ...parsed, interim: this.#interim.splice(0) };
      if (parsed !== null) {
        this.#interim.push(parsed);
        continue;
      }
      if (this.#ended) {
        throw new Error(`connection ended before a complete response (${this.#buffer.length} bytes pending${this.#error ? `, ${this.#error.message}` : ''})`);
      }
      if (!(await this.#wait(deadline - Date.now()))) throw new Error('timed out waiting for a response');
    }
  }

  #tryParse(head: boolean): RawResponse | null {
    const end = this.#buffer.indexOf('\r\n\r\n');
    if (end === -1) return null;
    const lines = this.#buffer.subarray(0, end).toString('latin1').split('\r\n');
    const statusLine = lines[0]!;
    const status = Number(statusLine.split(' ')[1]);
    const rawHeaders = lines.slice(1).map((line) => {
      const colon = line.indexOf(':');
      return [line.slice(0, colon), line.slice(colon + 1).trim()] as const;
    });
    const all = (name: string) => rawHeaders.filter(([n]) => n.toLowerCase() === name.toLowerCase()).map(([, v]) => v);
    let bodyStart = end + 4;
    let body: Buffer;
    let consumed: number;
    if (head || status < 200 || status === 204 || status === 304) {
      body = Buffer.alloc(0);
      consumed = bodyStart;
    } else if (all('transfer-encoding').some((v) => v.toLowerCase().includes('chunked'))) {
      const chunks: Buffer[] = [];
      for (;;) {
        const lineEnd = this.#buffer.indexOf('\r\n', bodyStart);
        if (lineEnd === -1) return null;
        const size = parseInt(this.#buffer.subarray(bodyStart, lineEnd).toString('latin1'), 16);
        if (size === 0) {
          const trailerEnd = this.#buffer.indexOf('\r\n\r\n', lineEnd);
          if (trailerEnd === -1 && this.#buffer.length < lineEnd + 4) return null;
          consumed = trailerEnd === -1 ? lineEnd + 4 : trailerEnd + 4;
          break;
        }
        if (this.#buffer.length < lineEnd + 2 + size + 2) return null;
        chunks.push(this.#buffer.subarray(lineEnd + 2, lineEnd + 2 + size));
        bodyStart = lineEnd + 2 + size + 2;
      }
      body = Buffer.concat(chunks);
    } else if (all('content-length').length > 0) {
      const length = Number(all('content-length')[0]);
      if (this.#buffer.length < bodyStart + length) return null;
      body = Buffer.from(this.#buffer.subarray(bodyStart, bodyStart + length));
      consumed = bodyStart + length;
    } else {
      if (!this.#ended) return null;
      body = Buffer.from(this.#buffer.subarray(bodyStart));
      consumed = this.#buffer.length;
    }
    this.#buffer = this.#buffer.subarray(consumed);
    return { statusLine, status, rawHeaders, body, interim: [], all, json: () => JSON.parse(body.toString('utf8')) };
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
  }

  #wait(ms: number): Promise<boolean> {
    if (ms <= 0) return Promise.resolve(false);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#wake = null;
        resolve(false);
      }, ms);
      this.#wake = () => {
        clearTimeout(timer);
        resolve(true);
      };
    });
  }
}

/** Opens a connection, sends `request` verbatim, reads one response and closes. */
export async function rawExchange(port: number, request: string | Buffer, options: { head?: boolean; timeoutMs?: number } = {}): Promise<RawResponse> {
  const connection = await RawConnection.open(port);
  try {
    connection.write(request);
    return await connection.readResponse(options);
  } finally {
    connection.destroy();
  }
}

/** A request head with CRLF line endings: `head('GET /x HTTP/1.1', 'Host: a')`. */
export function head(...lines: string[]): string {
  return lines.join('\r\n') + '\r\n\r\n';
}
