import { Type } from '@sinclair/typebox';
import { Bool, Duration, Enum, HeaderName, Host, LOG_LEVELS, Port, Section, Size } from './kit.js';

/** `server:`, the proxy listener. */
export const ServerSchema = Section({
  host: Host('0.0.0.0'),
  port: Port(8080),
  maxRequestBodyBytes: Size('1GB'),
  maxKeyedBodyBytes: Size('1MB'),
  shutdownGrace: Duration('10s'),
  requestIdHeader: HeaderName('x-request-id'),
  logLevel: Enum(LOG_LEVELS, 'info'),
  // Node's own default, and Salesforce's limit for the request line and headers together.
  maxHeaderBytes: Size('16KB'),
  directHitWrites: Bool(true),
  batchHitWrites: Bool(true),
  requestBody: Section({
    // 0 turns either check off.
    idleTimeout: Duration('10s'),
    minBytesPerSecond: Size('1KB'),
    minRateAfter: Duration('10s'),
    bufferUpTo: Size('1MB'),
  }),
});

/** `admin:`, the admin listener. */
export const AdminSchema = Section({
  host: Host('127.0.0.1'),
  port: Port(9090),
  // Empty or absent: /admin/* routes are disabled.
  token: Type.Optional(Type.String({ errorMessage: 'must be a string' })),
});
