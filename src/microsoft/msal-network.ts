import type { INetworkModule, NetworkRequestOptions, NetworkResponse } from '@azure/msal-node';
import type { AxiosInstance } from 'axios';

/**
 * MSAL's network module over our HTTP client, so token requests use the same agent and CA
 * as every other Microsoft call. Non-2xx answers resolve normally: MSAL reads the error body
 * and Retry-After itself; only transport failures reject.
 */
export function msalNetworkModule(http: AxiosInstance): INetworkModule {
  const send = async <T>(
    method: 'GET' | 'POST',
    url: string,
    options?: NetworkRequestOptions,
    timeout?: number,
  ): Promise<NetworkResponse<T>> => {
    const response = await http.request<string>({
      method,
      url,
      headers: options?.headers,
      data: method === 'POST' ? options?.body : undefined,
      ...(timeout ? { timeout } : {}),
    });
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(response.headers)) {
      if (value !== undefined && value !== null) headers[name.toLowerCase()] = String(value);
    }
    let body: unknown = response.data;
    try {
      body = JSON.parse(response.data);
    } catch {
      // Not JSON: MSAL reports it as an unparsable response.
    }
    return { status: response.status, headers, body: body as T };
  };
  return {
    sendGetRequestAsync: (url, options, timeout) => send('GET', url, options, timeout),
    sendPostRequestAsync: (url, options) => send('POST', url, options),
  };
}
