import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { isPrivateAddress, outboundUrlProblem, type OutboundUrlPolicy } from '../definitions/public-url';

/**
 * The delivery-time check of a webhook URL: the write-time check of its text, then every address its host resolves
 * to (a public name may point at 127.0.0.1 or the metadata service). Returns what is wrong, or undefined.
 */
export async function deliveryAddressProblem(url: string, policy: OutboundUrlPolicy): Promise<string | undefined> {
  const textual = outboundUrlProblem(url, policy);
  if (textual || policy.allowPrivateNetworks) return textual;
  const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
  if (isIP(host)) return undefined;
  let addresses: { address: string }[];
  try {
    addresses = await lookup(host, { all: true });
  } catch (e) {
    return `cannot resolve ${host}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`;
  }
  const bad = addresses.find((a) => isPrivateAddress(a.address));
  return bad ? `${host} resolves to ${bad.address}, a loopback, private, link-local or metadata address (allowed only with WEBHOOK_ALLOW_PRIVATE_NETWORKS=true)` : undefined;
}
