// `npx tsx bench/cli-memory.ts`: the CLI against a sink that answers every sync at once (no database), on files of 100,000
// and 1,000,000 rows: its peak RSS must not grow with the file (docs/PERFORMANCE.md).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { makeProduct } from './rows';
import { ROOT } from './db';
const schemas: any = { components: { schemas: { 'product.write': { properties: {
  id: { $ref: '#/components/schemas/IdInput' }, productNumber: { type: 'string' }, name: { type: 'string' }, description: { type: 'string' },
  stock: { type: 'integer' }, price: { type: 'array', items: { type: 'object' } }, taxId: { $ref: '#/components/schemas/IdInput' },
  active: { type: 'boolean' }, ean: { type: 'string' }, weight: { type: 'number' } } } } } };
const cols = ['id','productNumber','name','description','stock','price','taxId','active','ean','weight'] as const;
const cell = (v: unknown) => { const s = typeof v === 'string' ? v : JSON.stringify(v); return /[",\n]/.test(s) ? `"${s.replace(/"/g,'""')}"` : s; };
async function main() {
  const srv = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.setHeader('content-type', 'application/json');
      if (req.url === '/api/oauth/token') return res.end(JSON.stringify({ access_token: 'x', expires_in: 600 }));
      if (req.url === '/api/_info/openapi.json') return res.end(JSON.stringify(schemas));
      res.end('{"extensions":[],"data":[],"notFound":[],"deleted":[]}');
    });
  }).listen(0);
  const port = (srv.address() as any).port;
  for (const n of [100000, 1000000]) {
    const file = `/tmp/wtcli/mem-${n}.csv`;
    const fd = fs.openSync(file, 'w'); fs.writeSync(fd, cols.join(',') + '\n');
    for (let i = 0; i < n; i += 1000) fs.writeSync(fd, Array.from({ length: Math.min(1000, n - i) }, (_, k) => { const p = makeProduct('0189bf2a627a7296adbc83527ba9ac29', i + k); return cols.map((c) => cell(p[c])).join(','); }).join('\n') + '\n');
    fs.closeSync(fd);
    const t = Date.now();
    const child = spawn(process.execPath, [path.join(ROOT, 'bin/bulksync.js'), 'import', file, '--entity', 'product', '--quiet'], { env: { ...process.env, BULKSYNC_URL: `http://127.0.0.1:${port}`, BULKSYNC_CLIENT_ID: 'a', BULKSYNC_CLIENT_SECRET: 'b' }, stdio: 'inherit' });
    let peak = 0;
    const timer = setInterval(() => { try { const m = /VmHWM:\s+(\d+)/.exec(fs.readFileSync(`/proc/${child.pid}/status`, 'utf8')); if (m) peak = Math.max(peak, Number(m[1])); } catch {} }, 100);
    await new Promise((r) => child.once('close', r)); clearInterval(timer);
    console.log(`${n} rows (${(fs.statSync(file).size / 1e6).toFixed(0)} MB): ${((Date.now() - t) / 1000).toFixed(1)} s, peak RSS ${Math.round(peak / 1024)} MB`);
    fs.rmSync(file);
  }
  srv.close();
}
main();
