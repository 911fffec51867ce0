import * as grpc from '@grpc/grpc-js';
import { AuthError, type Session } from './auth.js';

/** Salesforce's error code for a refused or expired session (the `error-code` trailer). */
const ERROR_CODE_AUTH = 'sfdc.platform.eventbus.grpc.service.auth.error';

/** The metadata every Pub/Sub API call carries. */
export function metadataOf(session: Session): grpc.Metadata {
  const metadata = new grpc.Metadata();
  metadata.set('accesstoken', session.accessToken);
  metadata.set('instanceurl', session.instanceUrl);
  metadata.set('tenantid', session.tenantId);
  return metadata;
}

/** A unary call as a promise. */
export function unary<Res>(call: (cb: grpc.requestCallback<Res>) => void): Promise<Res> {
  return new Promise((resolve, reject) => call((err, value) => (err !== null || value === undefined ? reject(err ?? new Error('empty answer')) : resolve(value))));
}

/** Salesforce's own error code, from the `error-code` trailer. */
export function errorCode(err: unknown): string | undefined {
  const value = (err as grpc.ServiceError).metadata?.get('error-code')[0];
  return typeof value === 'string' ? value : undefined;
}

export function isUnauthenticated(err: unknown): boolean {
  return (err as grpc.ServiceError).code === grpc.status.UNAUTHENTICATED || errorCode(err) === ERROR_CODE_AUTH;
}

/** An error for logs and `/readyz`: the gRPC status and details, or the message; never metadata (it holds the token). */
export function describe(err: unknown): string {
  if (err instanceof AuthError) return err.message;
  const e = err as Partial<grpc.ServiceError>;
  if (typeof e.code === 'number') return `${grpc.status[e.code] ?? e.code}: ${e.details ?? ''}`.slice(0, 300);
  return (err instanceof Error ? err.message : String(err)).slice(0, 300);
}
