import fs from 'node:fs';

/** Resident set size of another process from /proc (Linux), in bytes. */
function statusField(pid: number, field: 'VmRSS' | 'VmHWM'): number | undefined {
  try {
    const text = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, 'm').exec(text);
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

export function rss(pid: number): number | undefined {
  return statusField(pid, 'VmRSS');
}

/** Resets the process's peak RSS (VmHWM) to its current RSS; needs the right to write /proc/<pid>/clear_refs. */
function resetPeak(pid: number): boolean {
  try {
    fs.writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

export interface RssSample {
  /** RSS right before the request. */
  before: number;
  /** Highest RSS seen: VmHWM after a reset (when allowed) or the highest 5 ms poll of VmRSS. */
  peak: number;
  /** How the peak was taken. */
  source: 'VmHWM' | 'VmRSS poll';
}

/** Watches a process's RSS while `fn` runs. */
export async function watchRss<T>(pid: number, fn: () => Promise<T>): Promise<{ result: T; sample: RssSample }> {
  const before = rss(pid) ?? 0;
  const hwmReset = resetPeak(pid);
  let polled = before;
  const timer = setInterval(() => {
    const now = rss(pid);
    if (now !== undefined && now > polled) polled = now;
  }, 5);
  try {
    const result = await fn();
    const hwm = hwmReset ? statusField(pid, 'VmHWM') : undefined;
    const now = rss(pid);
    if (now !== undefined && now > polled) polled = now;
    const peak = Math.max(polled, hwm ?? 0);
    return { result, sample: { before, peak, source: hwm !== undefined && hwm >= polled ? 'VmHWM' : 'VmRSS poll' } };
  } finally {
    clearInterval(timer);
  }
}
