import t from 'tap';
import { addressAllowed, classifyAddress, decideAddress, formatIp, hostAllowed, parseAllowList, parseIp, parseIPv4, parseIPv6 } from '../../lib/net/address-policy.js';

t.test('IPv4 in every notation inet_aton accepts', async (t) => {
  const cases: Array<[string, string | undefined]> = [
    ['127.0.0.1', '127.0.0.1'],
    ['2130706433', '127.0.0.1'],
    ['0177.0.0.1', '127.0.0.1'],
    ['0x7f.0.0.1', '127.0.0.1'],
    ['0x7f000001', '127.0.0.1'],
    ['127.1', '127.0.0.1'],
    ['10.1.258', '10.1.1.2'],
    ['017700000001', '127.0.0.1'],
    ['0', '0.0.0.0'],
    ['169.254.43518', '169.254.169.254'],
    ['256.0.0.1', undefined],
    ['1.2.3.4.5', undefined],
    ['4294967296', undefined],
    ['08.0.0.1', undefined],
    ['example', undefined],
    ['', undefined],
  ];
  for (const [text, want] of cases) {
    const ip = parseIPv4(text);
    t.equal(ip ? formatIp(ip) : undefined, want, `${text} → ${String(want)}`);
  }
});

t.test('IPv6 with brackets, zones and IPv4 tails', async (t) => {
  const cases: Array<[string, string | undefined]> = [
    ['::1', '0:0:0:0:0:0:0:1'],
    ['[::1]', '0:0:0:0:0:0:0:1'],
    ['[::ffff:127.0.0.1]', '0:0:0:0:0:ffff:7f00:1'],
    ['::ffff:7f00:1', '0:0:0:0:0:ffff:7f00:1'],
    ['fe80::1%eth0', 'fe80:0:0:0:0:0:0:1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8:0:0:1:0:0:1'],
    ['::', '0:0:0:0:0:0:0:0'],
    ['1:2:3', undefined],
    ['localhost', undefined],
  ];
  for (const [text, want] of cases) {
    const ip = parseIPv6(text);
    t.equal(ip ? formatIp(ip) : undefined, want, `${text} → ${String(want)}`);
  }
  t.equal(parseIp('deadbeef'), undefined, 'a host name made of hex letters is no address');
});

t.test('address classes', async (t) => {
  const cases: Array<[string, string]> = [
    ['127.0.0.1', 'loopback'],
    ['127.255.0.9', 'loopback'],
    ['2130706433', 'loopback'],
    ['0177.0.0.1', 'loopback'],
    ['10.0.0.1', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['172.32.0.1', 'public'],
    ['192.168.1.1', 'private'],
    ['100.64.0.1', 'shared (CGNAT)'],
    ['100.127.255.255', 'shared (CGNAT)'],
    ['100.128.0.1', 'public'],
    ['169.254.169.254', 'metadata'],
    ['169.254.1.1', 'link-local'],
    ['100.100.100.200', 'metadata'],
    ['0.0.0.0', 'unspecified'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['255.255.255.255', 'broadcast'],
    ['240.0.0.1', 'reserved'],
    ['192.0.2.1', 'documentation'],
    ['198.18.0.1', 'benchmarking'],
    ['8.8.8.8', 'public'],
    ['93.184.216.34', 'public'],
    ['::1', 'loopback'],
    ['::', 'unspecified'],
    ['[::ffff:127.0.0.1]', 'loopback'],
    ['::ffff:10.0.0.1', 'private'],
    ['::ffff:169.254.169.254', 'metadata'],
    ['::ffff:8.8.8.8', 'public'],
    ['64:ff9b::7f00:1', 'loopback'],
    ['2002:7f00:1::', 'loopback'],
    ['::127.0.0.1', 'reserved'],
    ['fc00::1', 'unique-local'],
    ['fd12:3456::1', 'unique-local'],
    ['fd00:ec2::254', 'metadata'],
    ['fe80::1', 'link-local'],
    ['febf::1', 'link-local'],
    ['fec0::1', 'reserved'],
    ['ff02::1', 'multicast'],
    ['2001:db8::1', 'documentation'],
    ['2001:0:4136:e378::1', 'reserved'],
    ['2606:4700:4700::1111', 'public'],
  ];
  for (const [text, want] of cases) t.equal(classifyAddress(parseIp(text)!), want, `${text} is ${want}`);
});

t.test('allow-list entries', async (t) => {
  const allow = parseAllowList('receiver.tools.svc.cluster.local, *.internal.example 10.8.0.0/16,fd00::/8 127.0.0.1');
  t.same(allow.length, 5);
  t.ok(hostAllowed('receiver.tools.svc.cluster.local', allow), 'exact host');
  t.ok(hostAllowed('RECEIVER.tools.svc.cluster.local.', allow), 'case and a trailing dot do not matter');
  t.ok(hostAllowed('a.b.internal.example', allow), 'wildcard suffix');
  t.notOk(hostAllowed('internal.example', allow), 'the wildcard needs a label before it');
  t.notOk(hostAllowed('evilinternal.example', allow), 'a suffix is a whole label');
  t.ok(addressAllowed(parseIp('10.8.3.4')!, allow), 'inside the CIDR');
  t.notOk(addressAllowed(parseIp('10.9.0.1')!, allow), 'outside the CIDR');
  t.ok(addressAllowed(parseIp('::ffff:10.8.0.1')!, allow), 'an IPv4-mapped address is in the IPv4 CIDR');
  t.ok(addressAllowed(parseIp('fd00::5')!, allow), 'IPv6 CIDR');
  t.ok(addressAllowed(parseIp('127.0.0.1')!, allow), 'a bare address is a /32');
  t.notOk(addressAllowed(parseIp('127.0.0.2')!, allow));
  t.same(parseAllowList(''), []);
  for (const bad of ['10.0.0.0/33', '::/129', 'host/8', 'a_b', '10.0.0.0/8/1', '10.0.0.0/x', 'http://x']) {
    t.throws(() => parseAllowList(bad), { message: new RegExp(bad.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')) }, `${bad} is refused, naming it`);
  }
});

t.test('decisions name the address and its class', async (t) => {
  const allow = parseAllowList('localhost,10.8.0.0/16');
  t.same(decideAddress('localhost', '127.0.0.1', allow), { allowed: true }, 'an allow-listed host may resolve anywhere');
  t.same(decideAddress('x.example', '10.8.0.1', allow), { allowed: true }, 'an address in an allow-listed CIDR');
  t.same(decideAddress('x.example', '8.8.4.4', []), { allowed: true }, 'public');
  t.match(decideAddress('rebind.example', '127.0.0.1', allow), { allowed: false, reason: /^rebind\.example \(127\.0\.0\.1\) is a loopback address/ });
  t.match(decideAddress('169.254.169.254', '169.254.169.254', []), { allowed: false, reason: /^169\.254\.169\.254 is a metadata address/ });
  t.match(decideAddress('x', 'garbage', []), { allowed: false, reason: /not an IP address/ });
});
