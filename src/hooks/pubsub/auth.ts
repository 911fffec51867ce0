import { createSign } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { request } from 'undici';
import type { SalesforcePubSubConfig } from '../../config/types.js';

/** What every Pub/Sub API call carries (gRPC metadata `accesstoken`, `instanceurl`, `tenantid`). */
export interface Session {
  readonly accessToken: string;
  readonly instanceUrl: string;
  /** The org id (`00D…`), from the token response's identity URL. */
  readonly tenantId: string;
}

/** A token request Salesforce refused, or an answer sidecache cannot read. The message never holds a credential. */
export class AuthError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AuthError';
  }
}

/** A JWT bearer assertion may be used within this long (Salesforce allows up to 3 minutes). */
const ASSERTION_TTL_S = 180;
const TOKEN_TIMEOUT_MS = 10_000;

/**
 * The integration user's session: OAuth 2.0 client credentials (a connected app's key and
 * secret, run as its configured user) or JWT bearer (an RS256 assertion for `username`, signed
 * with the app's private key). Fetched on first use, kept until `invalidate()` (the Pub/Sub
 * API answered UNAUTHENTICATED), then fetched again. Concurrent callers share one request.
 */
export class SalesforceAuth {
  readonly #config: SalesforcePubSubConfig;
  readonly #now: () => number;
  #session: Promise<Session> | null = null;

  constructor(config: SalesforcePubSubConfig, now: () => number = Date.now) {
    this.#config = config;
    this.#now = now;
  }

  session(): Promise<Session> {
    if (this.#session === null) {
      const pending = this.#fetch();
      this.#session = pending;
      // A failed fetch is not kept: the next caller tries again.
      pending.catch(() => {
        if (this.#session === pending) this.#session = null;
      });
    }
    return this.#session;
  }

  /** Forgets the session, so the next call fetches a new token. */
  invalidate(): void {
    this.#session = null;
  }

  async #fetch(): Promise<Session> {
    const form = new URLSearchParams(await this.#grant());
    const url = `${this.#config.loginUrl.replace(/\/+$/, '')}/services/oauth2/token`;
    let status: number;
    let text: string;
    try {
      const response = await request(url, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: form.toString(),
        headersTimeout: TOKEN_TIMEOUT_MS,
        bodyTimeout: TOKEN_TIMEOUT_MS,
      });
      status = response.statusCode;
      text = await response.body.text();
    } catch (err) {
      throw new AuthError(`token request to ${url} failed: ${(err as Error).message}`);
    }
    return parseTokenResponse(status, text, url);
  }

  async #grant(): Promise<Record<string, string>> {
    const c = this.#config;
    if (c.auth.flow === 'client_credentials') {
      return { grant_type: 'client_credentials', client_id: c.clientId, client_secret: c.auth.clientSecret };
    }
    const key = c.auth.privateKey ?? (await readFile(c.auth.privateKeyFile!, 'utf8').catch((err: Error) => {
      throw new AuthError(`hooks.salesforcePubSub.privateKeyFile: cannot read it (${(err as NodeJS.ErrnoException).code ?? err.message})`);
    }));
    const assertion = jwtAssertion({ issuer: c.clientId, subject: c.auth.username, audience: c.auth.audience, privateKey: key, nowMs: this.#now() });
    return { grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion };
  }
}

/** A signed RS256 JWT for the bearer flow: iss = the connected app's consumer key, sub = the user, aud = the login URL. */
export function jwtAssertion(claims: { issuer: string; subject: string; audience: string; privateKey: string; nowMs: number }): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const unsigned = `${part({ alg: 'RS256', typ: 'JWT' })}.${part({
    iss: claims.issuer,
    sub: claims.subject,
    aud: claims.audience,
    exp: Math.floor(claims.nowMs / 1000) + ASSERTION_TTL_S,
  })}`;
  let signature: string;
  try {
    signature = createSign('RSA-SHA256').update(unsigned).sign(pemOf(claims.privateKey), 'base64url');
  } catch (err) {
    throw new AuthError(`the private key cannot sign the JWT assertion (${(err as Error).message}); expected a PEM RSA private key`);
  }
  return `${unsigned}.${signature}`;
}

/** A PEM from an environment variable may carry its line breaks as literal `\n`. */
function pemOf(key: string): string {
  return key.includes('\n') ? key : key.replace(/\\n/g, '\n');
}

/** Reads a token endpoint answer: access_token, instance_url and the org id from the identity URL (`…/id/<org>/<user>`). */
export function parseTokenResponse(status: number, text: string, url: string): Session {
  let body: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === 'object' && parsed !== null) body = parsed as Record<string, unknown>;
  } catch {
    // Reported below by what is missing.
  }
  if (status !== 200) {
    const error = typeof body['error'] === 'string' ? body['error'] : `HTTP ${status}`;
    const description = typeof body['error_description'] === 'string' ? `: ${body['error_description'].slice(0, 200)}` : '';
    throw new AuthError(`${url} refused the token request (${error}${description})`);
  }
  const accessToken = body['access_token'];
  const instanceUrl = body['instance_url'];
  const identity = body['id'];
  const tenant = typeof identity === 'string' ? /\/id\/([A-Za-z0-9]{15,18})\/[A-Za-z0-9]{15,18}\/?$/.exec(identity)?.[1] : undefined;
  if (typeof accessToken !== 'string' || accessToken === '') throw new AuthError(`${url} answered without an access_token`);
  if (typeof instanceUrl !== 'string' || !/^https?:\/\//.test(instanceUrl)) throw new AuthError(`${url} answered without an instance_url`);
  if (tenant === undefined) throw new AuthError(`${url} answered without an identity URL ("id": …/id/<org id>/<user id>)`);
  return { accessToken, instanceUrl, tenantId: tenant };
}
