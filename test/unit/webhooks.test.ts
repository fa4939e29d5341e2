import { FieldCipher } from '../../src/definitions/field-cipher';
import { isPrivateAddress, outboundUrlProblem, STRICT_OUTBOUND } from '../../src/definitions/public-url';
import { retryDelaySeconds, signature } from '../../src/events/deliver';
import { subscribes } from '../../src/events/emit';

describe('field encryption', () => {
  it('opens what it sealed, with a fresh iv each time, and refuses another key or a tampered value', () => {
    const c = new FieldCipher('x'.repeat(40));
    const a = c.seal('the secret');
    expect(a).not.toBe(c.seal('the secret'));
    expect(c.open(a)).toBe('the secret');
    expect(() => new FieldCipher('y'.repeat(40)).open(a)).toThrow();
    const tampered = a.slice(0, -2) + (a.endsWith('A') ? 'BB' : 'AA');
    expect(() => c.open(tampered)).toThrow();
  });
});

describe('outbound URL policy', () => {
  it.each(['127.0.0.1', '10.0.0.1', '172.16.5.4', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '::1', 'fe80::1', 'fd00::1', '::ffff:127.0.0.1'])(
    '%s is not public',
    (ip) => expect(isPrivateAddress(ip)).toBe(true),
  );
  it.each(['93.184.216.34', '8.8.8.8', '2606:4700::1111', '172.32.0.1'])('%s is public', (ip) => expect(isPrivateAddress(ip)).toBe(false));

  it('refuses http, credentials and private hosts unless switched on', () => {
    expect(outboundUrlProblem('https://hooks.example.com/x', STRICT_OUTBOUND)).toBeUndefined();
    expect(outboundUrlProblem('http://hooks.example.com/x', STRICT_OUTBOUND)).toMatch(/https/);
    expect(outboundUrlProblem('http://hooks.example.com/x', { allowHttp: true, allowPrivateNetworks: false })).toBeUndefined();
    expect(outboundUrlProblem('https://u:p@hooks.example.com/x', STRICT_OUTBOUND)).toMatch(/credentials/);
    // The URL parser normalises the other spellings of 127.0.0.1.
    expect(outboundUrlProblem('https://2130706433/x', STRICT_OUTBOUND)).toMatch(/private/);
    expect(outboundUrlProblem('https://0x7f.1/x', STRICT_OUTBOUND)).toMatch(/private/);
    expect(outboundUrlProblem('https://intranet/x', STRICT_OUTBOUND)).toMatch(/private/);
    expect(outboundUrlProblem('https://127.0.0.1/x', { allowHttp: false, allowPrivateNetworks: true })).toBeUndefined();
    expect(outboundUrlProblem('ftp://hooks.example.com/x', { allowHttp: true, allowPrivateNetworks: true })).toMatch(/http or https/);
  });
});

describe('webhook events', () => {
  it('matches an event by name, by *.<kind> and by *', () => {
    expect(subscribes('product.written', 'product.written')).toBe(true);
    expect(subscribes('product.written', 'product.deleted')).toBe(false);
    expect(subscribes('*.deleted', 'product_category.deleted')).toBe(true);
    expect(subscribes('*.deleted', 'product.written')).toBe(false);
    expect(subscribes('*', 'tax.deleted')).toBe(true);
  });

  it('doubles the wait per attempt within ±25 % jitter', () => {
    expect(retryDelaySeconds(1, 60, 0.5)).toBe(60);
    expect(retryDelaySeconds(3, 60, 0.5)).toBe(240);
    expect(retryDelaySeconds(3, 60, 0)).toBe(180);
    expect(retryDelaySeconds(3, 60, 1)).toBe(300);
  });

  it('signs the raw body as sha256=<hex HMAC>', () => {
    // Known answer: HMAC-SHA256 with key "key" of "The quick brown fox jumps over the lazy dog".
    expect(signature('key', 'The quick brown fox jumps over the lazy dog')).toBe('sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8');
  });
});
