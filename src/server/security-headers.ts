import type { NextFunction, Request, Response } from 'express';
import helmet from 'helmet';
import type { Config } from '../../config/index.js';

/** How long browsers keep to https once told (production only). Default: 1 year */
const hstsMaxAgeSeconds = 365 * 24 * 3600;

/**
 * Security headers for every answer: a Content-Security-Policy (strict for the pages, which run
 * no script; what Bull Board's UI needs under `queueBoardPath`), no framing, nosniff, no
 * Referer (codes and states travel in URLs), HSTS in production, and `Cache-Control: no-store`
 * unless a route allows caching (the stylesheets, Bull Board's assets).
 */
export function securityHeaders(config: Config, queueBoardPath: string) {
  const https = config.nodeEnv === 'production' && config.publicUrl.startsWith('https:');
  const common = {
    strictTransportSecurity: https ? { maxAge: hstsMaxAgeSeconds } : false,
    referrerPolicy: { policy: 'no-referrer' as const },
    xFrameOptions: { action: 'deny' as const },
  };
  // Outside production the service is plain http (localhost), where upgrading would break it.
  const upgradeInsecureRequests = https ? [] : null;
  const pages = helmet({
    ...common,
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'none'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        // The consent button's POST is answered with a redirect to Microsoft, and Chromium
        // holds that redirect to form-action as well.
        formAction: ["'self'", config.microsoft.endpoints.authorityHost],
        frameAncestors: ["'none'"],
        baseUri: ["'none'"],
        upgradeInsecureRequests,
      },
    },
  });
  // Bull Board is a React app: its scripts, inline styles, fetch calls, a highlighting worker,
  // and a <base href>. Its web fonts come from a third party and are left out.
  const queueBoard = helmet({
    ...common,
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'none'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", 'data:'],
        fontSrc: ["'self'", 'data:'],
        connectSrc: ["'self'"],
        workerSrc: ["'self'", 'blob:'],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
        baseUri: ["'self'"],
        upgradeInsecureRequests,
      },
    },
  });
  return (req: Request, res: Response, next: NextFunction): void => {
    res.set('Cache-Control', 'no-store');
    const underBoard = req.path === queueBoardPath || req.path.startsWith(`${queueBoardPath}/`);
    (underBoard ? queueBoard : pages)(req, res, next);
  };
}
