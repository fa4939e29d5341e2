import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { listen } from '../../src/http/listen';
import { startTestApp, type TestApp } from '../support/app';
import { sendHalfClosed } from '../support/raw-http';

/**
 * A client may close its side of the connection once it has sent the request (a simple uploader, `nc`, some HTTP/1.0
 * clients) and then read the answer. Node's HTTP server ends the connection when that half-close arrives, unless told
 * otherwise: a sync that still had PostgreSQL to wait for was rolled back and answered nothing.
 */
let t: TestApp;
let server: Server;
beforeAll(async () => {
  t = await startTestApp();
  server = await listen(t.app, { port: 0, host: '127.0.0.1', requestTimeoutSeconds: 60 });
});
afterAll(async () => {
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r));
  await t?.close();
});

describe('a client that closes its sending side after its request', () => {
  it('gets its whole answer, and the sync is written', async () => {
    const names = ['Half 1', 'Half 2', 'Half 3'];
    const body = Buffer.from(JSON.stringify({ t: { entity: 'tax', action: 'upsert', payload: names.map((name) => ({ name, taxRate: 5 })) } }));
    const head =
      'POST /api/_action/sync HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n' +
      `Authorization: Bearer ${t.token}\r\nContent-Length: ${body.length}\r\n\r\n`;
    const { answer, error } = await sendHalfClosed((server.address() as AddressInfo).port, head, body);
    expect(error).toBeUndefined();
    const [status, text] = answer.split('\r\n\r\n') as [string, string];
    expect(status).toMatch(/^HTTP\/1\.1 200/);
    expect(JSON.parse(text).data.tax).toHaveLength(3);
    const stored = await t.knex('tax').whereIn('name', names).count<{ count: string }[]>('* as count');
    expect(Number(stored[0]!.count)).toBe(3);
  });
});
