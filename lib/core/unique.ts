import { ApiObject, Chart } from 'cdk8s';
import { Construct } from 'constructs';
import { ValidationError } from './errors';

/** An object a construct is about to create. */
export interface PlannedObject {
  readonly kind: string;
  readonly name: string;
  /** @default - the namespace of the Chart of the construct */
  readonly namespace?: string;
}

function namespaceOf(obj: ApiObject): string | undefined {
  return obj.metadata.namespace ?? Chart.of(obj).namespace;
}

/**
 * Throws `DUPLICATE_NAME` when an object of the same kind, namespace and name already exists anywhere in
 * the App of `scope` (any Chart): two such objects would overwrite each other when applied. Call before
 * creating anything, so that the failure leaves nothing behind.
 */
export function requireUnusedNames(scope: Construct, planned: readonly PlannedObject[], fix: string): void {
  const defaultNamespace = Chart.of(scope).namespace;
  const existing = scope.node.root.node.findAll().filter((c): c is ApiObject => c instanceof ApiObject);
  for (const object of planned) {
    const namespace = object.namespace ?? defaultNamespace;
    const clash = existing.find((o) => o.kind === object.kind && o.name === object.name && namespaceOf(o) === namespace);
    if (clash !== undefined) {
      throw new ValidationError('DUPLICATE_NAME', scope.node.path,
        `a ${object.kind} named "${object.name}"${namespace ? ` in namespace "${namespace}"` : ''} already exists ` +
          `(${clash.node.path})`, object.name, fix);
    }
  }
}
