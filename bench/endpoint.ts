/** The endpoint over HTTP on loopback: bodies sent one after another, each answer read in full. */

export interface SentBatch {
  /** Wall time from the first byte sent to the last answer read, in ms. */
  ms: number;
  /** Per request, in ms. */
  latencies: number[];
  /** The x-indexing header of the last answer (absent on servers without indexing). */
  indexing: string | undefined;
}

interface SyncAnswer {
  data?: Record<string, unknown[]> | unknown[];
  errors?: { code?: string; detail?: string }[];
}

/** Sends the bodies in order (one client, keep-alive) and checks each answer: 200, and every record listed. */
export async function sendSequential(
  baseUrl: string,
  bodies: readonly Buffer[],
  expect: { entity: string; perBody: readonly number[] },
  headers: Record<string, string> = {},
): Promise<SentBatch> {
  const answers: { status: number; text: string }[] = [];
  const latencies: number[] = [];
  let indexing: string | undefined;
  const started = performance.now();
  for (const body of bodies) {
    const t0 = performance.now();
    const res = await fetch(`${baseUrl}/api/_action/sync`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body,
    });
    indexing = res.headers.get('x-indexing') ?? undefined;
    answers.push({ status: res.status, text: await res.text() });
    latencies.push(performance.now() - t0);
  }
  const ms = performance.now() - started;
  answers.forEach((a, i) => {
    if (a.status !== 200) throw new Error(`request ${i + 1}/${bodies.length} answered ${a.status}: ${a.text.slice(0, 600)}`);
    const parsed = JSON.parse(a.text) as SyncAnswer;
    const listed = !Array.isArray(parsed.data) ? (parsed.data?.[expect.entity]?.length ?? 0) : 0;
    if (listed !== expect.perBody[i]) {
      throw new Error(`request ${i + 1}/${bodies.length}: the answer lists ${listed} ${expect.entity} records, expected ${expect.perBody[i]}`);
    }
  });
  return { ms, latencies, indexing };
}
