/**
 * What kube-controller-manager puts in every namespace: the `default`
 * ServiceAccount (serviceaccounts-controller) and the `kube-root-ca.crt`
 * ConfigMap with the cluster CA (root-ca-cert-publisher), both created again
 * when deleted, none in a terminating namespace. Pods need the account: the
 * ServiceAccount admission plugin refuses pods whose account is missing.
 * Work happens on the store event itself (no queue): the objects exist by
 * the time a client that created the namespace sends its next request.
 */
import type { Registry } from '../api-server/registry.js';
import { CONFIG_MAP, NAMESPACE, SERVICE_ACCOUNT } from '../api-server/resources.js';
import { DEFAULT_SERVICE_ACCOUNT, ROOT_CA_CONFIG_MAP } from '../api-server/admission/pod-admission.js';

const USER = { user: 'system:serviceaccount:kube-system:service-account-controller' };

export class NamespaceAccountsController {
  private unsubscribe: (() => void) | undefined;

  constructor(
    private readonly registry: Registry,
    private readonly caPem: string,
  ) {}

  start(): void {
    this.unsubscribe = this.registry.store.subscribe((event) => {
      if (event.resource === NAMESPACE && event.type !== 'DELETED') this.ensure(event.object.metadata.name ?? '');
      else if (event.type === 'DELETED' && event.resource === SERVICE_ACCOUNT && event.object.metadata.name === DEFAULT_SERVICE_ACCOUNT) this.ensure(event.object.metadata.namespace ?? '');
      else if (event.type === 'DELETED' && event.resource === CONFIG_MAP && event.object.metadata.name === ROOT_CA_CONFIG_MAP) this.ensure(event.object.metadata.namespace ?? '');
    });
    for (const namespace of this.registry.store.list(NAMESPACE)) this.ensure(namespace.metadata.name ?? '');
  }

  stop(): void {
    this.unsubscribe?.();
  }

  private ensure(namespace: string): void {
    const ns = this.registry.store.get(NAMESPACE, undefined, namespace);
    if (!ns || ns.metadata.deletionTimestamp) return;
    const create = (body: Parameters<Registry['create']>[2], type: typeof SERVICE_ACCOUNT): void => {
      // Fails only when a client created it first (409) or the namespace is going away (403/404): nothing to do then.
      void this.registry.create(type, namespace, body, USER).catch(() => undefined);
    };
    if (!this.registry.store.get(SERVICE_ACCOUNT, namespace, DEFAULT_SERVICE_ACCOUNT)) {
      create({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: DEFAULT_SERVICE_ACCOUNT } }, SERVICE_ACCOUNT);
    }
    if (!this.registry.store.get(CONFIG_MAP, namespace, ROOT_CA_CONFIG_MAP)) {
      create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: ROOT_CA_CONFIG_MAP, annotations: { 'kubernetes.io/description': 'Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.' } }, data: { 'ca.crt': this.caPem } }, CONFIG_MAP);
    }
  }
}
