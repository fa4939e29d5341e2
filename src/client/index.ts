/** The typed client of the bulksync service (docs/import.md, "The client for scripts"). */
export { BulksyncClient, syncCapabilities, type ClientOptions, type OpenApiDocument, type RetryInfo } from './client';
export { ApiProblem, AuthenticationError, ConnectionError, type ApiError } from './errors';
export type { NdjsonOperation } from './ndjson';
export { DEFAULT_RETRY, type RetryPolicy } from './retry';
export type * from './types';
