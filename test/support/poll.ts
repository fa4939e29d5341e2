/** Polls `what` until `ok` holds or time runs out, then returns the last value (the test's assertion decides). */
export async function until<T>(what: () => Promise<T>, ok: (v: T) => boolean, seconds = 20): Promise<T> {
  const end = Date.now() + seconds * 1000;
  for (;;) {
    const v = await what();
    if (ok(v) || Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, 200));
  }
}
