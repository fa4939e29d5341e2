import type { Express } from 'express';
import request from 'supertest';
import { createApp } from '../../src/app';
import { boot, type Core } from '../../src/boot';
import { loadConfig } from '../../src/config';
import { startTestApp, type TestApp } from '../support/app';

/**
 * A second API process on the same database: its own pool, its own app, the same token secret (as replicas behind
 * one load balancer share BULKSYNC_TOKEN_SECRET).
 */
async function secondInstance(t: TestApp): Promise<{ app: Express; core: Core }> {
  const env = Object.entries(t.config).filter(([, v]) => v !== undefined);
  const config = loadConfig(Object.fromEntries(env.map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : String(v)])));
  const core = await boot(config, t.logger);
  const app = createApp({ config, knex: core.db.knex, registry: core.registry, indexers: core.indexers, logger: t.logger, tokenSecret: core.tokenSecret });
  return { app, core };
}

async function statuses(t: TestApp, other: Express, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const app = i % 2 === 0 ? t.bare : other;
    const res = await request(app).get('/api/_action/indexing/status').set('authorization', `Bearer ${t.token}`);
    out.push(res.status);
  }
  return out;
}

describe('failed token attempts across API processes', () => {
  it('are counted together by two app instances on one database', async () => {
    const t = await startTestApp({ TOKEN_FAILURES_PER_15_MINUTES: '3' });
    const b = await secondInstance(t);
    try {
      const out: number[] = [];
      for (let i = 0; i < 5; i++) {
        const res = await request(i % 2 === 0 ? t.bare : b.app)
          .post('/api/oauth/token')
          .send({ grant_type: 'client_credentials', client_id: 'test-admin', client_secret: `wrong-${i}` });
        out.push(res.status);
      }
      // Three failures in all, whichever process answered them; then both refuse.
      expect(out).toEqual([401, 401, 401, 429, 429]);
    } finally {
      await b.core.db.close();
      await t.close();
    }
  });
});

describe('the per-integration rate limit across API processes', () => {
  it('is shared by two app instances on one database (RATE_LIMIT_STORE=database, the default)', async () => {
    const t = await startTestApp({ RATE_LIMIT_PER_MINUTE: '4' });
    const b = await secondInstance(t);
    try {
      expect(b.core.tokenSecret).toBe(t.config.BULKSYNC_TOKEN_SECRET);
      // Alternating between the two: the fifth request is refused, whichever process gets it.
      expect(await statuses(t, b.app, 6)).toEqual([200, 200, 200, 200, 429, 429]);
      const refused = await request(b.app).get('/api/_action/indexing/status').set('authorization', `Bearer ${t.token}`).expect(429);
      expect(refused.body.errors[0].code).toBe('RATE_LIMITED');
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
      expect(refused.headers['ratelimit']).toMatch(/; r=0;/);
      const rows = await t.knex.raw(`SELECT key, hits FROM bulksync_rate_limit WHERE key LIKE 'api:%'`);
      expect(rows.rows).toHaveLength(1);
      expect(rows.rows[0].hits).toBe(7);
      // Each process counts the rejections it answered.
      const metrics = (await request(t.bare).get('/metrics').expect(200)).text;
      expect(metrics).toMatch(/bulksync_rate_limit_rejections_total\{route="\/api\/_action\/indexing\/status"\} 1\n/);
    } finally {
      await b.core.db.close();
      await t.close();
    }
  });

  it('counts per process with RATE_LIMIT_STORE=memory (the contrast: two processes allow twice the limit)', async () => {
    const t = await startTestApp({ RATE_LIMIT_PER_MINUTE: '4', RATE_LIMIT_STORE: 'memory' });
    const b = await secondInstance(t);
    try {
      expect(await statuses(t, b.app, 10)).toEqual([200, 200, 200, 200, 200, 200, 200, 200, 429, 429]);
    } finally {
      await b.core.db.close();
      await t.close();
    }
  });
});
