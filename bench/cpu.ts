import fs from 'node:fs';
import type pg from 'pg';

/**
 * CPU time of processes from /proc/<pid>/stat (utime + stime, in clock ticks of 1/100 s on Linux): the service's
 * process, and each PostgreSQL backend serving the bench database. Where /proc is missing, nothing is reported.
 */
const TICK_MS = 10;

export function processCpuMs(pid: number): number | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces; the fields after its closing parenthesis are plain.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(rest[11]) + Number(rest[12])) * TICK_MS;
  } catch {
    return undefined;
  }
}

/** CPU ms per PostgreSQL backend pid of the database `client` is connected to (its own backend included). */
async function backendCpu(client: pg.Client): Promise<Map<number, number>> {
  const { rows } = await client.query<{ pid: number }>(`SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND backend_type = 'client backend'`);
  const out = new Map<number, number>();
  for (const { pid } of rows) {
    const ms = processCpuMs(pid);
    if (ms !== undefined) out.set(pid, ms);
  }
  return out;
}

export interface CpuSample {
  service?: number;
  backends: Map<number, number>;
}

export async function sampleCpu(client: pg.Client, servicePid?: number): Promise<CpuSample> {
  return { service: servicePid === undefined ? undefined : processCpuMs(servicePid), backends: await backendCpu(client) };
}

/** CPU ms spent between two samples: the service's, and PostgreSQL's (backends that appeared in between from 0). */
export function cpuSpent(before: CpuSample, after: CpuSample): { service?: number; postgres: number } {
  let postgres = 0;
  for (const [pid, ms] of after.backends) postgres += ms - (before.backends.get(pid) ?? 0);
  const service = before.service !== undefined && after.service !== undefined ? after.service - before.service : undefined;
  return { service, postgres };
}
