import type { ParsedCronItem, TaskList } from 'graphile-worker';

/**
 * What a room registers with the queue: its tasks by name, its cron items, and what it wants done on every
 * heartbeat (indexing's safety net). The queue runs them and knows nothing of what they do.
 */
export interface QueueTasks {
  taskList: TaskList;
  cron?: ParsedCronItem[];
  /** Runs with each heartbeat of the worker (errors are logged, never fatal). */
  onBeat?: () => Promise<void>;
}

/** The rooms' registrations as one; two rooms naming the same task is a programming error. */
export function mergeTasks(parts: readonly QueueTasks[]): Required<QueueTasks> {
  const taskList: TaskList = {};
  for (const part of parts) {
    for (const [name, task] of Object.entries(part.taskList)) {
      if (taskList[name]) throw new Error(`queue task ${name} registered twice`);
      taskList[name] = task;
    }
  }
  const beats = parts.flatMap((p) => (p.onBeat ? [p.onBeat] : []));
  return {
    taskList,
    cron: parts.flatMap((p) => p.cron ?? []),
    onBeat: async () => {
      for (const b of beats) await b();
    },
  };
}
