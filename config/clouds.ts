/** Base URLs of one Microsoft cloud. Origins only: paths are added by the clients. */
export interface CloudEndpoints {
  /** Entra ID authority host, e.g. https://login.microsoftonline.com */
  authorityHost: string;
  /** Partner Center REST API origin. */
  partnerCenterUrl: string;
  /** Microsoft Graph origin. */
  graphUrl: string;
  /** Microsoft Graph's resource URI in this cloud: the prefix of its scopes. */
  graphResource: string;
}

export const cloudNames = ['global', 'usgov', 'china', 'custom'] as const;
export type CloudName = (typeof cloudNames)[number];

/**
 * Presets for the national clouds (microsoft-protocols.md §6). Partner Center in US Gov is
 * served from the global host; China has its own. `custom` takes all three from the
 * environment (the emulator, or a cloud without a preset).
 */
export const cloudPresets: Record<Exclude<CloudName, 'custom'>, CloudEndpoints> = {
  global: {
    authorityHost: 'https://login.microsoftonline.com',
    partnerCenterUrl: 'https://api.partnercenter.microsoft.com',
    graphUrl: 'https://graph.microsoft.com',
    graphResource: 'https://graph.microsoft.com',
  },
  usgov: {
    authorityHost: 'https://login.microsoftonline.us',
    partnerCenterUrl: 'https://api.partnercenter.microsoft.com',
    graphUrl: 'https://graph.microsoft.us',
    graphResource: 'https://graph.microsoft.us',
  },
  china: {
    authorityHost: 'https://login.partner.microsoftonline.cn',
    partnerCenterUrl: 'https://partner.partnercenterapi.microsoftonline.cn',
    graphUrl: 'https://microsoftgraph.chinacloudapi.cn',
    graphResource: 'https://microsoftgraph.chinacloudapi.cn',
  },
};
