import type { QueueTasks } from '../queue/tasks';
import { WEBHOOK_TASK } from '../write/event-outbox';
import { deliver, type DeliveryContext, type DeliveryPayload } from './deliver';

/** What webhook deliveries register with the queue: one task, a delivery per job. */
export function webhookTasks(ctx: DeliveryContext): QueueTasks {
  return { taskList: { [WEBHOOK_TASK]: (payload) => deliver(ctx, payload as DeliveryPayload) } };
}
