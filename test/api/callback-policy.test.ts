import t from 'tap';
import { checkSubscriberUrl, redactUrl } from '../../api/callbacks/subscriber-url.js';
import { nextRetry } from '../../api/callbacks/retry.js';
import { parseAllowList } from '../../lib/net/address-policy.js';

t.test('subscriber URLs', async (t) => {
  const open = { allow: [], httpsOnly: false };
  const cases: Array<[string, RegExp | 'ok', { allow?: string; httpsOnly?: boolean }?]> = [
    ['https://receiver.example/cb', 'ok'],
    ['http://receiver.example:8080/cb?x=1', 'ok'],
    ['http://receiver.example/cb', /must use https/, { httpsOnly: true }],
    ['ftp://receiver.example/cb', /uses ftp; only http and https/],
    ['file:///etc/passwd', /uses file/],
    ['gopher://127.0.0.1:6379/_INFO', /uses gopher/],
    ['not a url', /not an absolute URL/],
    ['https://user:pw@receiver.example/', /must not contain credentials/],
    ['http://127.0.0.1:9/', /127\.0\.0\.1 is a loopback address/],
    ['http://2130706433/', /127\.0\.0\.1 is a loopback address/],
    ['http://0177.0.0.1/', /127\.0\.0\.1 is a loopback address/],
    ['http://0x7f.1/', /127\.0\.0\.1 is a loopback address/],
    ['http://10.0.0.8/', /10\.0\.0\.8 is a private address/],
    ['http://169.254.169.254/latest/meta-data/', /metadata address/],
    ['http://[::1]/', /loopback/],
    ['http://[::ffff:127.0.0.1]/', /loopback/],
    ['http://[fd00:ec2::254]/', /metadata/],
    ['http://[fe80::1]/', /link-local/],
    ['http://100.64.1.1/', /CGNAT/],
    ['http://0.0.0.0:80/', /unspecified/],
    ['http://127.0.0.1:9/', 'ok', { allow: '127.0.0.0/8' }],
    ['http://8.8.8.8/', 'ok'],
  ];
  for (const [url, want, policy = {}] of cases) {
    const decision = checkSubscriberUrl(url, { ...open, allow: parseAllowList(policy.allow ?? ''), httpsOnly: policy.httpsOnly ?? false });
    if (want === 'ok') t.ok(decision.ok, `${url} passes`);
    else t.match(decision, { ok: false, problem: want }, `${url} is refused`);
  }
});

t.test('URLs in logs lose credentials, query and fragment', async (t) => {
  t.equal(redactUrl('https://user:secret@h.example:8443/a/b?token=abc#frag'), 'https://h.example:8443/a/b');
  t.equal(redactUrl('nonsense'), '(not a URL)');
});

t.test('retries back off, with jitter, within attempts and horizon', async (t) => {
  const policy = { maxAttempts: 5, horizonMs: 60_000, baseDelayMs: 1000, maxDelayMs: 8000 };
  const cases: Array<[string, number, number, number, ReturnType<typeof nextRetry>]> = [
    ['first failure, least jitter', 1, 0, 0, { retryInMs: 500 }],
    ['first failure, most jitter', 1, 0, 0.999999, { retryInMs: 1000 }],
    ['third failure', 3, 10_000, 0.5, { retryInMs: 3000 }],
    ['capped', 4, 10_000, 1, { retryInMs: 8000 }],
    ['attempts exhausted', 5, 10_000, 0.5, { giveUp: '5 attempts failed' }],
  ];
  for (const [what, attempts, elapsed, random, want] of cases) t.same(nextRetry(attempts, 0, elapsed, policy, random), want, what);
  t.match(nextRetry(2, 0, 59_000, policy, 0.5), { giveUp: /retry horizon is 60 s/ }, 'the next try would fall past the horizon');
  t.same(nextRetry(1, 0, 0, { ...policy, maxAttempts: 1 }, 0), { giveUp: '1 attempt failed' }, 'one attempt only');
});
