/** The end-to-end workflow: one activity round trip through history, matching and the worker. */
import { proxyActivities } from '@temporalio/workflow';
import type * as activities from './activities';

const { composeGreeting } = proxyActivities<typeof activities>({
  startToCloseTimeout: '30 seconds',
  retry: { maximumAttempts: 3 },
});

export async function greet(name: string): Promise<string> {
  return await composeGreeting('Hello', name);
}
