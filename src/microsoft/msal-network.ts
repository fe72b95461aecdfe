import type { INetworkModule, NetworkRequestOptions, NetworkResponse } from '@azure/msal-node';
import type { MicrosoftHttp } from './http.js';

/**
 * MSAL's network module over our HTTP client, so token requests use the same connections and
 * CA as every other Microsoft call. Non-2xx answers resolve normally: MSAL reads the error
 * body and Retry-After itself; only transport failures reject.
 */
export function msalNetworkModule(http: MicrosoftHttp): INetworkModule {
  const send = async <T>(
    method: 'GET' | 'POST',
    url: string,
    options?: NetworkRequestOptions,
    timeoutMs?: number,
  ): Promise<NetworkResponse<T>> => {
    const response = await http.request({
      method,
      url,
      headers: options?.headers,
      body: method === 'POST' ? options?.body : undefined,
      timeoutMs,
    });
    let body: unknown = response.body;
    try {
      body = JSON.parse(response.body);
    } catch {
      // Not JSON: MSAL reports it as an unparsable response.
    }
    return { status: response.status, headers: response.headers, body: body as T };
  };
  return {
    sendGetRequestAsync: (url, options, timeout) => send('GET', url, options, timeout),
    sendPostRequestAsync: (url, options) => send('POST', url, options),
  };
}
