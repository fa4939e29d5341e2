import express from 'express';
import { loadConfig } from '../../src/config';
import { listen } from '../../src/http/listen';

/**
 * Node answers a request that has not arrived whole after 300 s with a bare 408; a sync body arrives only as fast
 * as it is written, so a large import would be cut there. The server takes HTTP_REQUEST_TIMEOUT_SECONDS instead.
 */
describe('the HTTP server', () => {
  it.each([
    [{}, 3_600_000],
    [{ HTTP_REQUEST_TIMEOUT_SECONDS: '0' }, 0],
    [{ HTTP_REQUEST_TIMEOUT_SECONDS: '7200' }, 7_200_000],
  ])('takes its request timeout from the configuration (%j)', async (env, ms) => {
    const config = loadConfig(env);
    const server = await listen(express(), { port: 0, host: '127.0.0.1', requestTimeoutSeconds: config.HTTP_REQUEST_TIMEOUT_SECONDS });
    try {
      expect(server.requestTimeout).toBe(ms);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  it('refuses a timeout that is not a number of seconds', () => {
    expect(() => loadConfig({ HTTP_REQUEST_TIMEOUT_SECONDS: 'soon' })).toThrow(/HTTP_REQUEST_TIMEOUT_SECONDS/);
  });
});
