import type { Express } from 'express';
import request from 'supertest';
import { WRITE_PATHS, type WritePath } from '../../src/observability/observers';

/** The text of GET /metrics (the app without authentication, as a scraper sees it). */
export async function scrapeMetrics(bare: Express): Promise<string> {
  return (await request(bare).get('/metrics').expect(200)).text;
}

/** The value of one sample, by its name and exact label set (as prom-client writes it). */
export function metricSample(text: string, name: string, labels: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}} `));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

/** Chunks written so far by each write path (bulksync_sync_chunks_total). */
export async function chunkPaths(bare: Express): Promise<Record<WritePath, number>> {
  const text = await scrapeMetrics(bare);
  const counts = WRITE_PATHS.map((p) => [p, metricSample(text, 'bulksync_sync_chunks_total', `path="${p}"`) ?? 0]);
  return Object.fromEntries(counts) as Record<WritePath, number>;
}

/** How many chunks each path wrote between two readings of chunkPaths. */
export function pathsSince(before: Record<WritePath, number>, after: Record<WritePath, number>): Record<string, number> {
  return Object.fromEntries(WRITE_PATHS.map((p) => [p, after[p] - before[p]]));
}
