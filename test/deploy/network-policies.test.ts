/**
 * The NetworkPolicies against the Deployments and Services they protect, in
 * every overlay: each part's policy selects exactly that part's pods, covers
 * both directions, opens for ingress exactly the ports its Services target
 * plus the ops port (and nothing on the controller but the ops port), each
 * port being one the container declares; egress allows DNS and the API
 * server; the job pods get no ingress. (That they apply against an API
 * server: test/local-cluster/e2e-apply-manifests.test.ts and
 * local-cluster.test.ts.)
 */
import t from 'tap';
import type { V1Container, V1NetworkPolicy, V1NetworkPolicyPort, V1Service } from '@kubernetes/client-node';
import { MANAGED_LABEL, MANAGED_LABEL_VALUE } from '../../lib/contract.js';
import { OVERLAYS, PARTS, containerOf, deploymentOf, namespacesOf, ofKind, render, type OverlayName, type Part } from './helpers/manifests.js';

const matches = (selector: Record<string, string> | undefined, labels: Record<string, string> | undefined): boolean =>
  Object.entries(selector ?? {}).every(([key, value]) => labels?.[key] === value);

/** A policy port as `<number>/<protocol>`, resolving a named port against the container. */
function resolvePort(port: V1NetworkPolicyPort, container: V1Container): string | undefined {
  const protocol = port.protocol ?? 'TCP';
  if (typeof port.port === 'number') return `${port.port}/${protocol}`;
  const declared = container.ports?.find((p) => p.name === port.port && (p.protocol ?? 'TCP') === protocol);
  return declared ? `${declared.containerPort}/${protocol}` : undefined;
}

const egressAllows = (policy: V1NetworkPolicy, port: number, protocol: string): boolean =>
  (policy.spec?.egress ?? []).some((rule) => (rule.to ?? []).length === 0 && (rule.ports ?? []).some((p) => p.port === port && (p.protocol ?? 'TCP') === protocol));

for (const overlay of Object.keys(OVERLAYS) as OverlayName[]) {
  t.test(`${overlay}: one NetworkPolicy per part, matching its Deployment and Services`, async (t) => {
    const { objects } = await render(OVERLAYS[overlay]);
    const ns = namespacesOf(objects);
    const policies = ofKind<V1NetworkPolicy>(objects, 'NetworkPolicy');
    const services = ofKind<V1Service>(objects, 'Service');
    for (const part of PARTS as readonly Part[]) {
      const deployment = deploymentOf(objects, part);
      const podLabels = deployment.spec?.template.metadata?.labels;
      const container = containerOf(deployment);
      const selecting = policies.filter((p) => p.metadata?.namespace === ns.system && matches(p.spec?.podSelector?.matchLabels, podLabels));
      t.equal(selecting.length, 1, `${part}: exactly one policy selects its pods`);
      const policy = selecting[0];
      if (!policy) continue;
      t.same(policy.spec?.podSelector?.matchLabels, deployment.spec?.selector.matchLabels, `${part}: the policy selects as the Deployment does`);
      t.same(policy.spec?.podSelector?.matchExpressions, undefined, `${part}: by labels only`);
      t.same([...(policy.spec?.policyTypes ?? [])].sort(), ['Egress', 'Ingress'], `${part}: ingress and egress both restricted`);

      const ingressPorts = (policy.spec?.ingress ?? []).flatMap((rule) => {
        t.ok((rule.ports ?? []).length > 0, `${part}: every ingress rule names its ports`);
        return (rule.ports ?? []).map((p) => resolvePort(p, container));
      });
      t.notOk(ingressPorts.includes(undefined), `${part}: every ingress port is one the container declares (${ingressPorts.join(', ')})`);
      const servicePorts = services
        .filter((s) => s.metadata?.namespace === ns.system && matches(s.spec?.selector, podLabels))
        .flatMap((s) => (s.spec?.ports ?? []).map((p) => resolvePort({ port: p.targetPort ?? p.port, protocol: p.protocol ?? 'TCP' }, container)));
      const ops = resolvePort({ port: 'ops', protocol: 'TCP' }, container);
      const expected = [...new Set([...servicePorts, ops])].sort();
      t.same([...new Set(ingressPorts)].sort(), expected, `${part}: ingress only on the ports its Services target and the ops port`);
      if (part === 'controller') t.same(expected, [ops], 'controller: no Service, so only the ops port');

      t.ok(egressAllows(policy, 53, 'UDP') && egressAllows(policy, 53, 'TCP'), `${part}: DNS`);
      t.ok(egressAllows(policy, 443, 'TCP') && egressAllows(policy, 6443, 'TCP'), `${part}: the API server (443, 6443)`);
    }

    const jobs = policies.filter((p) => p.metadata?.namespace === ns.jobs);
    t.equal(jobs.length, 1, 'one policy in the jobs namespace');
    t.same(jobs[0]?.spec?.podSelector?.matchLabels, { [MANAGED_LABEL]: MANAGED_LABEL_VALUE }, 'it selects the managed job pods');
    t.same(jobs[0]?.spec?.policyTypes, ['Ingress'], 'job pods: ingress restricted, egress left to the operator');
    t.same(jobs[0]?.spec?.ingress ?? [], [], 'job pods: no ingress at all');
    t.same(
      policies.map((p) => p.metadata?.name).sort(),
      ['k8s-job-manager-api', 'k8s-job-manager-controller', 'k8s-job-manager-jobs', 'k8s-job-manager-webhook'],
      'no other policies',
    );
  });
}

t.test('the checks can fail: a port the container does not declare, a wrong selector', async (t) => {
  const { objects } = await render(OVERLAYS.plain);
  const container = containerOf(deploymentOf(objects, 'api'));
  t.equal(resolvePort({ port: 'metrics', protocol: 'TCP' }, container), undefined, 'an undeclared named port does not resolve');
  t.equal(resolvePort({ port: 'http', protocol: 'UDP' }, container), undefined, 'nor a declared one with another protocol');
  t.equal(resolvePort({ port: 'http' }, container), '5000/TCP', 'the API port resolves');
  t.notOk(matches({ 'app.kubernetes.io/component': 'webhook' }, deploymentOf(objects, 'api').spec?.template.metadata?.labels), 'another part\'s selector does not match');
});
