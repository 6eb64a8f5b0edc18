import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP } from 'node:net';
import { LabelerError } from '@labeler/core';

/**
 * SSRF guard: in production a webhook URL must not reach loopback, private, link-local, CGNAT or
 * unspecified addresses, unless LABELER_WEBHOOK_ALLOW_PRIVATE is `true` or lists the host. It runs when a
 * subscription is saved and again on every delivery, inside the connection's own DNS lookup, so a name that
 * later resolves elsewhere (DNS rebinding) is refused on the socket that would have used it.
 */
export interface UrlPolicy {
  enforce: boolean;
  allowAll: boolean;
  allowHosts: ReadonlySet<string>;
}

export function urlPolicyOf(nodeEnv: string, allowPrivate: string): UrlPolicy {
  const value = allowPrivate.trim().toLowerCase();
  const allowAll = value === 'true' || value === '1' || value === 'yes';
  const hosts = allowAll || value === 'false' || value === '' ? [] : value.split(',');
  return {
    enforce: nodeEnv === 'production',
    allowAll,
    allowHosts: new Set(hosts.map((h) => h.trim()).filter(Boolean)),
  };
}

const blocked = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const)
  blocked.addSubnet(net, prefix, 'ipv4');
for (const [net, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const)
  blocked.addSubnet(net, prefix, 'ipv6');

export function isPrivateAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return blocked.check(address, 'ipv4');
  if (family !== 6) return true;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped?.[1]) return blocked.check(mapped[1], 'ipv4');
  return blocked.check(address, 'ipv6');
}

function bareHost(hostname: string): string {
  return hostname.replace(/^\[|\]$/g, '').toLowerCase();
}

function mayBePrivate(policy: UrlPolicy, host: string): boolean {
  return !policy.enforce || policy.allowAll || policy.allowHosts.has(host);
}

export function refused(url: string, address: string): LabelerError {
  return new LabelerError(
    'VALIDATION_ERROR',
    `Webhook URL ${url} resolves to a private or loopback address (${address}); use a public address, or allow it with LABELER_WEBHOOK_ALLOW_PRIVATE.`,
    { details: { field: 'url', reason: 'private_address', address } },
  );
}

/** Parses and checks a subscription URL: http(s), no credentials, and (policy) a public address. */
export async function assertDeliverableUrl(raw: string, policy: UrlPolicy): Promise<URL> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new LabelerError('VALIDATION_ERROR', 'Webhook URL is not a valid URL.', {
      details: { field: 'url' },
    });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new LabelerError('VALIDATION_ERROR', 'Webhook URL must be http:// or https://.', {
      details: { field: 'url' },
    });
  if (url.username || url.password)
    throw new LabelerError('VALIDATION_ERROR', 'Webhook URL must not carry credentials.', {
      details: { field: 'url' },
    });
  const host = bareHost(url.hostname);
  if (mayBePrivate(policy, host)) return url;
  const addresses = isIP(host)
    ? [host]
    : await new Promise<string[]>((resolve, reject) =>
        dnsLookup(host, { all: true }, (error, found) =>
          error
            ? reject(
                new LabelerError('VALIDATION_ERROR', `Webhook URL host ${host} does not resolve.`, {
                  details: { field: 'url', reason: 'unresolvable' },
                }),
              )
            : resolve(found.map((a) => a.address)),
        ),
      );
  const bad = addresses.find(isPrivateAddress);
  if (bad) throw refused(raw, bad);
  return url;
}

type LookupCallback = (
  error: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

/** A `lookup` for http.request that refuses private answers under the policy (checked per connection). */
export function guardedLookup(policy: UrlPolicy) {
  return (hostname: string, options: { all?: boolean }, callback: LookupCallback): void => {
    dnsLookup(hostname, { ...options, all: true }, (error, addresses) => {
      if (error) return callback(error, []);
      const host = bareHost(hostname);
      if (!mayBePrivate(policy, host)) {
        const bad = addresses.find((a) => isPrivateAddress(a.address));
        if (bad) {
          const refusal = Object.assign(
            new Error(`refused: ${host} resolves to private address ${bad.address}`),
            {
              code: 'EWEBHOOK_PRIVATE_ADDRESS',
            },
          );
          return callback(refusal, []);
        }
      }
      if (options.all) return callback(null, addresses);
      const first = addresses[0];
      if (!first)
        return callback(Object.assign(new Error(`${host} has no address`), { code: 'ENOTFOUND' }), []);
      callback(null, first.address, first.family);
    });
  };
}

/** An IP-literal host is connected without a lookup: check it here (null: allowed). */
export function literalRefusal(url: URL, policy: UrlPolicy): string | null {
  const host = bareHost(url.hostname);
  if (!isIP(host) || mayBePrivate(policy, host) || !isPrivateAddress(host)) return null;
  return `refused: ${host} is a private address`;
}
