import type { OutboundProxy } from '../../config/index.js';

const defaultPorts: Record<string, number> = { 'http:': 80, 'https:': 443 };

/**
 * The proxy a request to `url` goes through, or undefined to go direct: the rules the axios
 * client followed (proxy-from-env), so a deployment behind a proxy keeps working unchanged.
 */
export function proxyFor(url: string, settings: OutboundProxy): string | undefined {
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    return undefined;
  }
  const proxy =
    (target.protocol === 'https:' ? settings.httpsProxy : settings.httpProxy) || settings.allProxy;
  if (!proxy) return undefined;
  // The host as written, so an IPv6 literal keeps its brackets.
  const host = target.host.replace(/:\d*$/, '');
  const port = Number(target.port) || defaultPorts[target.protocol] || 0;
  if (!shouldProxy(host, port, (settings.noProxy ?? '').toLowerCase())) return undefined;
  // Without a scheme the proxy speaks the request's.
  return proxy.includes('://') ? proxy : `${target.protocol}//${proxy}`;
}

function shouldProxy(host: string, port: number, noProxy: string): boolean {
  if (!noProxy) return true;
  if (noProxy === '*') return false;
  return noProxy.split(/[,\s]/).every((entry) => {
    if (!entry) return true;
    const withPort = /^(.+):(\d+)$/.exec(entry);
    let name = withPort ? withPort[1]! : entry;
    if (withPort && Number(withPort[2]) !== port) return true;
    if (!/^[.*]/.test(name)) return host !== name;
    if (name.startsWith('*')) name = name.slice(1);
    return !host.endsWith(name);
  });
}
