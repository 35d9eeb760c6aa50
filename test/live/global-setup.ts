/**
 * Global teardown of the live project: removes the shared stack the read-only checks deployed
 * (test/support/live-stack.ts), so a run leaves nothing labeled with it behind.
 */
import { sharedStack } from "../support/live-stack";

export async function teardown(): Promise<void> {
  if (!sharedStack.hasState()) return;
  const down = await sharedStack.down();
  await sharedStack.reset();
  if (down.code !== 0) throw new Error(`harness down ${sharedStack.name} failed:\n${down.stdout}\n${down.stderr}`);
}
