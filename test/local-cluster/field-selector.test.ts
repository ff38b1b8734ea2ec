import t from 'tap';
import {
  fieldsOf,
  matchesFields,
  parseFieldSelector,
  unsupportedFieldLabelMessage,
  unsupportedFieldLabels,
  type FieldRequirement,
} from '../../local-cluster/api-server/selectors/field-selector.js';
import { SelectorParseError } from '../../local-cluster/api-server/selectors/label-selector.js';

const req = (field: string, operator: FieldRequirement['operator'], value: string): FieldRequirement => ({
  field,
  operator,
  value,
});

t.test('parseFieldSelector parses fields.ParseSelector syntax', async (t) => {
  const cases: Array<[string, FieldRequirement[]]> = [
    ['', []],
    [',', []],
    ['metadata.name=foo', [req('metadata.name', '=', 'foo')]],
    ['metadata.name==foo', [req('metadata.name', '==', 'foo')]],
    ['status.phase!=Running', [req('status.phase', '!=', 'Running')]],
    ['spec.nodeName=', [req('spec.nodeName', '=', '')]],
    // Terms are sorted, like the Go parser does before building the selector.
    ['status.phase=Running,metadata.name=a', [req('metadata.name', '=', 'a'), req('status.phase', '=', 'Running')]],
    // The first operator wins, and "!=" / "==" are preferred over "=" at the same position.
    ['a!=b', [req('a', '!=', 'b')]],
    ['a=!b', [req('a', '=', '!b')]],
    // Escapes: \, \= and \\ are literal characters in values; an escaped comma does not split.
    ['a=x\\,y', [req('a', '=', 'x,y')]],
    ['a=x\\=y', [req('a', '=', 'x=y')]],
    ['a=x\\\\y', [req('a', '=', 'x\\y')]],
    ['a=1\\,2,b=3', [req('a', '=', '1,2'), req('b', '=', '3')]],
    // No trimming: whitespace is part of the field or value.
    [' a = b ', [req(' a ', '=', ' b ')]],
  ];
  for (const [text, expected] of cases) t.same(parseFieldSelector(text), expected, JSON.stringify(text));
});

t.test('parseFieldSelector errors read like the apiserver', async (t) => {
  const cases: Array<[string, string]> = [
    ['foo', "invalid selector: 'foo'; can't understand 'foo'"],
    ['a=b,c', "invalid selector: 'a=b,c'; can't understand 'c'"],
    ['a=b=c', 'invalid field selector: unescaped character in value: 61'],
    ['a=b\\x', 'invalid field selector: invalid escape sequence: \\x'],
    ['a=b\\', 'invalid field selector: invalid escape sequence: \\'],
  ];
  for (const [text, message] of cases) {
    t.throws(() => parseFieldSelector(text), new SelectorParseError(message), JSON.stringify(text));
  }
});

t.test('matchesFields compares against the field set, a missing field reading as ""', async (t) => {
  const fields = { 'metadata.name': 'a', 'status.phase': 'Running' };
  const cases: Array<[string, boolean]> = [
    ['', true],
    ['metadata.name=a', true],
    ['metadata.name==a', true],
    ['metadata.name=b', false],
    ['metadata.name!=b', true],
    ['metadata.name!=a', false],
    ['metadata.name=a,status.phase=Running', true],
    ['metadata.name=a,status.phase!=Running', false],
    ['spec.nodeName=', true],
    ['spec.nodeName!=', false],
    ['constructor=', true],
  ];
  for (const [selector, expected] of cases) t.equal(matchesFields(parseFieldSelector(selector), fields), expected, selector);
});

t.test('fieldsOf exposes the selectable fields of each kind', async (t) => {
  const pod = {
    metadata: { name: 'p', namespace: 'ns' },
    spec: {
      nodeName: 'node-1',
      restartPolicy: 'Never',
      schedulerName: 'default-scheduler',
      serviceAccountName: 'runner',
      hostNetwork: true,
    },
    status: { phase: 'Running', podIP: '10.0.0.9', podIPs: [{ ip: '10.0.0.9' }, { ip: 'fd00::9' }], nominatedNodeName: 'n2' },
  };
  const cases: Array<[string, unknown, Record<string, string>]> = [
    [
      'Pod',
      pod,
      {
        'metadata.name': 'p',
        'metadata.namespace': 'ns',
        'spec.nodeName': 'node-1',
        'spec.host': 'node-1',
        'spec.restartPolicy': 'Never',
        'spec.schedulerName': 'default-scheduler',
        'spec.serviceAccountName': 'runner',
        'spec.hostNetwork': 'true',
        'status.phase': 'Running',
        'status.podIP': '10.0.0.9',
        'status.nominatedNodeName': 'n2',
      },
    ],
    [
      'Pod',
      { metadata: { name: 'bare' }, spec: { serviceAccount: 'legacy' }, status: { podIP: '10.1.1.1' } },
      {
        'metadata.name': 'bare',
        'metadata.namespace': '',
        'spec.nodeName': '',
        'spec.host': '',
        'spec.restartPolicy': '',
        'spec.schedulerName': '',
        'spec.serviceAccountName': 'legacy',
        'spec.hostNetwork': 'false',
        'status.phase': '',
        'status.podIP': '10.1.1.1',
        'status.nominatedNodeName': '',
      },
    ],
    [
      'Event',
      {
        metadata: { name: 'e', namespace: 'ns' },
        involvedObject: {
          kind: 'Job',
          namespace: 'ns',
          name: 'j',
          uid: 'u-1',
          apiVersion: 'batch/v1',
          resourceVersion: '7',
          fieldPath: 'spec',
        },
        reason: 'Completed',
        reportingComponent: 'job-controller',
        type: 'Normal',
      },
      {
        'metadata.name': 'e',
        'metadata.namespace': 'ns',
        'involvedObject.kind': 'Job',
        'involvedObject.namespace': 'ns',
        'involvedObject.name': 'j',
        'involvedObject.uid': 'u-1',
        'involvedObject.apiVersion': 'batch/v1',
        'involvedObject.resourceVersion': '7',
        'involvedObject.fieldPath': 'spec',
        reason: 'Completed',
        reportingComponent: 'job-controller',
        // source falls back to the reporting controller when source.component is empty
        source: 'job-controller',
        type: 'Normal',
      },
    ],
    ['Job', { metadata: { name: 'j', namespace: 'ns' }, status: { succeeded: 2 } }, { 'metadata.name': 'j', 'metadata.namespace': 'ns', 'status.successful': '2' }],
    ['Job', { metadata: { name: 'j', namespace: 'ns' } }, { 'metadata.name': 'j', 'metadata.namespace': 'ns', 'status.successful': '0' }],
    ['Secret', { metadata: { name: 's', namespace: 'ns' }, type: 'Opaque' }, { 'metadata.name': 's', 'metadata.namespace': 'ns', type: 'Opaque' }],
    ['Namespace', { metadata: { name: 'ns' }, status: { phase: 'Active' } }, { 'metadata.name': 'ns', 'metadata.namespace': '', 'status.phase': 'Active' }],
    [
      'Service',
      { metadata: { name: 'svc', namespace: 'ns' }, spec: { clusterIP: '10.96.0.1', type: 'ClusterIP' } },
      { 'metadata.name': 'svc', 'metadata.namespace': 'ns', 'spec.clusterIP': '10.96.0.1', 'spec.type': 'ClusterIP' },
    ],
    ['ConfigMap', { metadata: { name: 'c', namespace: 'ns' }, data: { a: 'b' } }, { 'metadata.name': 'c', 'metadata.namespace': 'ns' }],
    ['Lease', { metadata: { name: 'l', namespace: 'ns' } }, { 'metadata.name': 'l', 'metadata.namespace': 'ns' }],
    ['MutatingWebhookConfiguration', { metadata: { name: 'w' } }, { 'metadata.name': 'w', 'metadata.namespace': '' }],
    ['ConfigMap', undefined, { 'metadata.name': '', 'metadata.namespace': '' }],
  ];
  for (const [kind, obj, expected] of cases) t.same(fieldsOf(kind, obj), expected, `${kind} ${JSON.stringify(obj)}`);

  const event = { metadata: { name: 'e' }, source: { component: 'kubelet' }, reportingComponent: 'other' };
  t.equal(fieldsOf('Event', event).source, 'kubelet', 'source.component wins over reportingComponent');
  const podSelector = parseFieldSelector('status.phase=Running,spec.nodeName=node-1');
  t.ok(matchesFields(podSelector, fieldsOf('Pod', pod)));
  t.notOk(matchesFields(parseFieldSelector('status.phase!=Running'), fieldsOf('Pod', pod)));
  t.ok(matchesFields(parseFieldSelector('spec.host=node-1'), fieldsOf('Pod', pod)), 'legacy spec.host selects on the node name');
});

t.test('unsupportedFieldLabels lists what the apiserver rejects for a kind', async (t) => {
  const cases: Array<[string, string, string[]]> = [
    ['Pod', 'metadata.name=a,spec.nodeName=n,status.phase=Running,status.podIP=x,status.podIPs=x,spec.host=n', []],
    ['Pod', 'spec.containers=x,status.phase=Running,metadata.uid=1', ['metadata.uid', 'spec.containers']],
    ['Event', 'involvedObject.name=j,involvedObject.kind=Job,reason=x,type=Normal,source=s,reportingComponent=r', []],
    ['Event', 'message=boom', ['message']],
    ['Job', 'status.successful=1,metadata.namespace=ns', []],
    ['Job', 'status.failed=1', ['status.failed']],
    ['Secret', 'type=Opaque', []],
    ['Namespace', 'status.phase=Active,metadata.name=ns', []],
    ['Namespace', 'metadata.namespace=x', ['metadata.namespace']],
    ['Service', 'spec.type=ClusterIP,spec.clusterIP=None', []],
    ['ConfigMap', 'metadata.name=a,metadata.namespace=b', []],
    ['ConfigMap', 'data.a=b', ['data.a']],
    ['SomethingNew', 'spec.x=y', ['spec.x']],
    ['Pod', '', []],
  ];
  for (const [kind, selector, expected] of cases) {
    t.same(unsupportedFieldLabels(kind, parseFieldSelector(selector)), expected, `${kind}: ${selector}`);
  }
});

t.test('unsupportedFieldLabelMessage has the per-kind wording of the real conversion functions', async (t) => {
  const cases: Array<[string, string, string]> = [
    ['Pod', 'spec.containers', 'field label not supported: spec.containers'],
    ['Event', 'message', 'field label not supported: message'],
    ['Namespace', 'metadata.namespace', 'field label not supported: metadata.namespace'],
    ['Secret', 'data', 'field label not supported: data'],
    ['Service', 'spec.ports', 'field label not supported: spec.ports'],
    ['Job', 'status.failed', 'field label "status.failed" not supported for Job'],
    ['ConfigMap', 'data.a', '"data.a" is not a known field selector: only "metadata.name", "metadata.namespace"'],
    ['Lease', 'spec.holderIdentity', '"spec.holderIdentity" is not a known field selector: only "metadata.name", "metadata.namespace"'],
  ];
  for (const [kind, label, message] of cases) t.equal(unsupportedFieldLabelMessage(kind, label), message, `${kind} ${label}`);
});
