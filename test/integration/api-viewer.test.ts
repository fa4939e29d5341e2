import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { ROOT, startTestApp, type TestApp } from '../support/app';

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const METHODS = ['get', 'post', 'put', 'patch', 'delete'];

describe('API viewer and document with OPENAPI_PUBLIC unset (the default: a token is needed)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  it('refuses the viewer, its files and the document without a token', async () => {
    for (const route of ['/api/_info/docs', '/api/_info/docs/swagger-ui-bundle.js', '/api/_info/openapi.json']) {
      const res = await request(t.bare).get(route).expect(401);
      expect(res.body.errors[0].code).toBe('UNAUTHENTICATED');
    }
  });

  it('serves Swagger UI from the installed package (no CDN), under a CSP that allows it', async () => {
    const page = await request(t.app).get('/api/_info/docs').expect(200).expect('content-type', /text\/html/);
    const refs = [...page.text.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(refs).toEqual(expect.arrayContaining(['docs/swagger-ui.css', 'docs/swagger-ui-bundle.js', 'docs/init.js']));
    // Every file is relative (this origin): nothing is fetched from elsewhere.
    for (const ref of refs) expect(ref).not.toMatch(/^(https?:)?\/\//);
    expect(page.text).not.toMatch(/<script>[^<]/);
    const csp = page.headers['content-security-policy'] as string;
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toMatch(/script-src[^;]*(unsafe-inline|https:|\*)/);
    const bundle = fs.readFileSync(path.join(ROOT, 'node_modules/swagger-ui-dist/swagger-ui-bundle.js'), 'utf8');
    for (const ref of refs) {
      const res = await request(t.app).get(`/api/_info/${ref}`).expect(200);
      if (ref.endsWith('.js')) expect(res.headers['content-type']).toMatch(/javascript/);
      if (ref.endsWith('swagger-ui-bundle.js')) expect(res.text.length).toBe(bundle.length);
    }
    const init = await request(t.app).get('/api/_info/docs/init.js').expect(200);
    expect(init.text).toContain("new URL('openapi.json'");
    await request(t.app).get('/api/_info/docs/package.json').expect(404);
    await request(t.app).get('/api/_info/docs/index.html').expect(404);
  });

  it('the document has servers, a license and client errors (4XX) on every route, and says the docs need a token', async () => {
    const doc: Obj = (await request(t.app).get('/api/_info/openapi.json').expect(200)).body;
    expect(doc.servers).toEqual([expect.objectContaining({ url: '/' })]);
    expect(doc.info.license.name).toEqual(expect.any(String));
    let operations = 0;
    for (const [route, item] of Object.entries<Obj>(doc.paths)) {
      for (const method of METHODS.filter((m) => item[m])) {
        operations++;
        const codes = Object.keys(item[method].responses);
        expect({ route, method, has4xx: codes.some((c) => /^4(\d\d|XX)$/.test(c)) }).toEqual({ route, method, has4xx: true });
      }
    }
    expect(operations).toBeGreaterThan(20);
    expect(doc.paths['/api/_info/docs'].get.security).not.toEqual([]);
    expect(doc.paths['/api/_info/openapi.json'].get.responses[401]).toBeDefined();
  });

  it('openapi-typescript (default options) generates types that a small client type-checks against', async () => {
    const doc = (await request(t.app).get('/api/_info/openapi.json').expect(200)).body;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bulksync-client-'));
    try {
      fs.writeFileSync(path.join(dir, 'openapi.json'), JSON.stringify(doc));
      const gen = spawnSync(process.execPath, [path.join(ROOT, 'node_modules/openapi-typescript/bin/cli.js'), 'openapi.json', '-o', 'api.ts'], { cwd: dir, encoding: 'utf8' });
      expect(gen.status).toBe(0);
      const api = fs.readFileSync(path.join(dir, 'api.ts'), 'utf8');
      expect(api).toMatch(/^\s+product: \{$/m);
      expect(api).toMatch(/^\s+"product\.write": \{$/m);
      expect(api).toContain('"/api/_action/sync": {');
      fs.writeFileSync(
        path.join(dir, 'client.ts'),
        `import type { components, paths } from './api';
type SyncBody = paths['/api/_action/sync']['post']['requestBody']['content']['application/json'];
type Product = components['schemas']['product'];
type Status = paths['/api/_action/indexing/status']['get']['responses'][200]['content']['application/json'];
export const body: SyncBody = { p: { entity: 'product', action: 'upsert', payload: [{ name: 'Shirt', stock: 1 }] } };
export const names = (products: Product[]): string[] => products.map((p) => p.id);
export const pending = (s: Status): number => s.data.reduce((n, i) => n + i.pending, 0);
`,
      );
      // A wrong usage must fail, or the check proves nothing.
      fs.writeFileSync(
        path.join(dir, 'wrong.ts'),
        `import type { components } from './api';
export const id: number = ({} as components['schemas']['product']).id;
`,
      );
      const tsc = (file: string) =>
        spawnSync(process.execPath, [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '--noEmit', '--strict', '--target', 'es2022', '--module', 'commonjs', '--skipLibCheck', file], {
          cwd: dir,
          encoding: 'utf8',
        });
      const ok = tsc('client.ts');
      expect(ok.stdout + ok.stderr).toBe('');
      expect(ok.status).toBe(0);
      const wrong = tsc('wrong.ts');
      expect(wrong.stdout).toContain("Type 'string' is not assignable to type 'number'");
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe('OPENAPI_PUBLIC=true', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ OPENAPI_PUBLIC: 'true' });
  });
  afterAll(() => t.close());

  it('serves the viewer, its files and the document without a token, and the document says so', async () => {
    await request(t.bare).get('/api/_info/docs').expect(200).expect('content-type', /text\/html/);
    await request(t.bare).get('/api/_info/docs/swagger-ui.css').expect(200).expect('content-type', /css/);
    const doc: Obj = (await request(t.bare).get('/api/_info/openapi.json').expect(200)).body;
    expect(doc.paths['/api/_info/docs'].get.security).toEqual([]);
    expect(doc.paths['/api/_info/openapi.json'].get.security).toEqual([]);
    // Everything else still needs a token.
    await request(t.bare).get('/api/_action/indexing/status').expect(401);
  });
});
