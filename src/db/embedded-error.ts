/**
 * A failure of the embedded PostgreSQL that explains itself (printed without a stack). Its own module so that the
 * process start can recognise it without loading the embedded server's code, which production installs leave out.
 */
export class EmbeddedPostgresError extends Error {}
