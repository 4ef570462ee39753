/** The end-to-end workflows: one activity round trip through history, matching and the worker. */
import { condition, defineSignal, proxyActivities, setHandler } from '@temporalio/workflow';
import type * as activities from './activities';

const { composeGreeting } = proxyActivities<typeof activities>({
  startToCloseTimeout: '30 seconds',
  retry: { maximumAttempts: 3 },
});

export async function greet(name: string): Promise<string> {
  return await composeGreeting('Hello', name);
}

/** Lets `greetWhenReleased` go on. */
export const release = defineSignal('release');

/** Waits (durably, in history) for the `release` signal, then greets: a workflow in flight across an event. */
export async function greetWhenReleased(name: string): Promise<string> {
  let released = false;
  setHandler(release, () => {
    released = true;
  });
  await condition(() => released);
  return await composeGreeting('Hello again', name);
}
