/** Turning Temporal failures into messages for operators. */
import { ActivityFailure, ChildWorkflowFailure } from '@temporalio/workflow';

/** The innermost message: "Activity task failed" says nothing to an operator. */
export function failureMessage(err: unknown): string {
  let current: unknown = err;
  while ((current instanceof ActivityFailure || current instanceof ChildWorkflowFailure) && current.cause) current = current.cause;
  return current instanceof Error ? current.message : String(current);
}
