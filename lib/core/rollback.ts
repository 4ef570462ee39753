import { Construct } from 'constructs';

/**
 * Called from a constructor's `catch`: removes the half-built construct (and everything it added) from
 * its parent, then rethrows. Every construct that validates its props does this, so an invalid prop
 * leaves nothing behind in the tree, even for a caller that catches the error and synthesizes.
 */
export function rollback(construct: Construct, error: unknown): never {
  construct.node.scope?.node.tryRemoveChild(construct.node.id);
  throw error;
}
