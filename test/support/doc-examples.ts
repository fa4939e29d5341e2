import fs from 'node:fs';

export interface DocExample {
  line: number;
  request: unknown;
  /** An ```ndjson request block: the body as written, sent as application/x-ndjson. */
  ndjson?: string;
  headers: Record<string, string>;
  status: number;
  response: unknown;
}

/**
 * Reads the request/response pairs of a guide: a ```json request block (optionally `request header=value …`)
 * followed by a ```json response <status> block. The guide is the fixture: what a reader copies is what runs.
 */
export function readDocExamples(file: string): DocExample[] {
  const text = fs.readFileSync(file, 'utf8');
  const blocks = [...text.matchAll(/^```(json|ndjson) (request|response)([^\n]*)\n([\s\S]*?)^```/gm)].map((m) => {
    const [whole, format, kind, rest, body] = m;
    return Object.assign([whole, kind, rest, body] as string[], { index: m.index, format });
  });
  const out: DocExample[] = [];
  for (let i = 0; i < blocks.length; i++) {
    const b = blocks[i]!;
    if (b[1] !== 'request') continue;
    const next = blocks[i + 1];
    const line = text.slice(0, b.index).split('\n').length;
    if (!next || next[1] !== 'response') throw new Error(`${file}:${line}: a request block needs a response block after it`);
    const headers: Record<string, string> = {};
    for (const m of b[2]!.matchAll(/([\w-]+)=(\S+)/g)) headers[m[1]!] = m[2]!;
    const ndjson = b.format === 'ndjson' ? b[3]! : undefined;
    out.push({ line, request: ndjson === undefined ? JSON.parse(b[3]!) : undefined, ndjson, headers, status: Number(next[2]!.trim()), response: JSON.parse(next[3]!) });
  }
  return out;
}

/** "<new id>" in a documented response stands for any id the service made. */
export function withPlaceholders(v: unknown): unknown {
  if (v === '<new id>') return expect.stringMatching(/^[0-9a-f]{32}$/);
  if (Array.isArray(v)) return v.map(withPlaceholders);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, withPlaceholders(x)]));
  return v;
}

/** The documented answer with every "…" replaced by what was actually answered there. */
export function fill(documented: unknown, actual: unknown): unknown {
  if (documented === '…') return actual;
  if (Array.isArray(documented) && Array.isArray(actual)) return documented.map((d, i) => fill(d, actual[i]));
  if (documented && typeof documented === 'object' && actual && typeof actual === 'object' && !Array.isArray(actual)) {
    return Object.fromEntries(Object.entries(documented).map(([k, v]) => [k, fill(v, (actual as Record<string, unknown>)[k])]));
  }
  return documented;
}
