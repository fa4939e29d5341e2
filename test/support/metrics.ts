import type { Express } from 'express';
import request from 'supertest';

/** The text of GET /metrics (the app without authentication, as a scraper sees it). */
export async function scrapeMetrics(bare: Express): Promise<string> {
  return (await request(bare).get('/metrics').expect(200)).text;
}

/** The value of one sample, by its name and exact label set (as prom-client writes it). */
export function metricSample(text: string, name: string, labels: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}} `));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

export const CHUNK_PATHS = ['checked', 'checked_again', 'diagnosed', 'looked_up'] as const;

/** Chunks written so far by each write path (bulksync_sync_chunks_total). */
export async function chunkPaths(bare: Express): Promise<Record<(typeof CHUNK_PATHS)[number], number>> {
  const text = await scrapeMetrics(bare);
  const counts = CHUNK_PATHS.map((p) => [p, metricSample(text, 'bulksync_sync_chunks_total', `path="${p}"`) ?? 0]);
  return Object.fromEntries(counts) as Record<(typeof CHUNK_PATHS)[number], number>;
}

/** How many chunks each path wrote between two readings of chunkPaths. */
export function pathsSince(before: Record<(typeof CHUNK_PATHS)[number], number>, after: Record<(typeof CHUNK_PATHS)[number], number>): Record<string, number> {
  return Object.fromEntries(CHUNK_PATHS.map((p) => [p, after[p] - before[p]]));
}
