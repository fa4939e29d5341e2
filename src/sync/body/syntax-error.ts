/**
 * JSON.parse's complaint about a value that starts at byte `at` of the body, pointing at the offending byte:
 * JSON.parse counts UTF-16 characters of the value, a reader of the body needs bytes from its start.
 */
export function syntaxError(e: Error, text: string, at: number): string {
  const m = /^(.*?)(?: in JSON)? at position (\d+)/.exec(e.message);
  if (!m) return `the body is not valid JSON (the value at byte ${at}): ${e.message.slice(0, 200)}`;
  const byte = at + Buffer.byteLength(text.slice(0, Number(m[2])));
  return `the body is not valid JSON at byte ${byte}: ${m[1]!.slice(0, 200)}`;
}
