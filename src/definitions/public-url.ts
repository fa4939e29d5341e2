import { isIP } from 'node:net';

/** Which outgoing URLs the service may call (webhooks): WEBHOOK_ALLOW_HTTP, WEBHOOK_ALLOW_PRIVATE_NETWORKS. */
export interface OutboundUrlPolicy {
  allowHttp: boolean;
  allowPrivateNetworks: boolean;
}

export const STRICT_OUTBOUND: OutboundUrlPolicy = { allowHttp: false, allowPrivateNetworks: false };

/** Host names that always mean this machine or a cloud's metadata service. */
const PRIVATE_NAMES = /^(localhost|.*\.localhost|metadata|metadata\.google\.internal|instance-data|.*\.internal|.*\.local)$/i;

function ipv4Private(ip: string): boolean {
  const [a, b] = ip.split('.').map(Number) as [number, number];
  return (
    a === 0 || a === 10 || a === 127 || (a === 100 && b >= 64 && b <= 127) || (a === 169 && b === 254) ||
    (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || (a === 198 && (b === 18 || b === 19)) || a >= 224
  );
}

/** Loopback, private, link-local, unique-local, metadata, unspecified or multicast: not a public address. */
export function isPrivateAddress(ip: string): boolean {
  const v = isIP(ip);
  if (v === 4) return ipv4Private(ip);
  if (v !== 6) return true;
  const lower = ip.toLowerCase();
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
  if (mapped) return ipv4Private(mapped[1]!);
  return (
    lower === '::' || lower === '::1' || /^f[cd]/.test(lower) || /^fe[89ab]/.test(lower) || lower.startsWith('ff') ||
    lower.startsWith('fd00:ec2::254')
  );
}

/**
 * What is wrong with a URL under the policy, judged from its text alone (no DNS lookup: that is done again at
 * delivery, where a name that resolves to a private address is refused), or undefined when it may be used.
 */
export function outboundUrlProblem(text: string, policy: OutboundUrlPolicy): string | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return 'expected a URL';
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && policy.allowHttp)) {
    return policy.allowHttp ? 'expected an http or https URL' : 'expected an https URL (http needs WEBHOOK_ALLOW_HTTP=true)';
  }
  if (url.username || url.password) return 'credentials in the URL are not accepted';
  if (policy.allowPrivateNetworks) return undefined;
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (isIP(host) ? isPrivateAddress(host) : PRIVATE_NAMES.test(host) || !host.includes('.')) {
    return `${url.hostname} is a loopback, private, link-local or metadata address (allowed only with WEBHOOK_ALLOW_PRIVATE_NETWORKS=true)`;
  }
  return undefined;
}
