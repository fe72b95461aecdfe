import type { NextFunction, Request, Response } from 'express';
import session from 'express-session';
import type { Config } from '../../../config/index.js';
import type { Services } from '../../dependencies.js';
import type { Store } from '../../store/database.js';
import type { UserRole } from '../../store/schema.js';
import { PostgresSessionStore } from '../auth/session-store.js';
import type { RefusedForm } from '../views/refused-form.js';

declare module 'express-session' {
  interface SessionData {
    /**
     * The generic webhook channel this session just created: the next Alerts page opens its
     * signing secret from the channel's seal and shows it, once. The secret is never stored here.
     */
    secretToShow?: string;
    userId?: string;
    /** One sentence shown once on the next page (what the last form did). */
    flash?: string;
    /** The form the last request refused, shown once again as it was sent (no password). */
    refused?: RefusedForm;
  }
}

/** A session ends after this long without a request. Default: 8 hours */
const sessionIdleMs = 8 * 3600 * 1000;

interface SiteUser {
  id: string;
  email: string;
  role: UserRole;
  partnerId: string | null;
}

declare module 'express-serve-static-core' {
  interface Request {
    user?: SiteUser;
  }
}

/**
 * The session every page and the dashboard share: in PostgreSQL, cookie HttpOnly, SameSite=Lax
 * (so the session survives the top-level redirect back from Microsoft), Secure on https.
 */
export function siteSession(config: Config, store: Store, services: Services) {
  const sessions = session({
    name: 'ls.sid',
    secret: config.sessionSecret,
    store: new PostgresSessionStore(store.db),
    resave: false,
    saveUninitialized: false,
    rolling: true,
    cookie: {
      httpOnly: true,
      sameSite: 'lax',
      secure: config.publicUrl.startsWith('https:'),
      maxAge: sessionIdleMs,
    },
  });
  const loadUser = async (req: Request) => {
    const id = req.session?.userId;
    if (!id) return;
    const user = await services.users.get(id);
    if (user) {
      req.user = { id: user.id, email: user.email, role: user.role, partnerId: user.partnerId };
    }
  };
  return (req: Request, res: Response, next: NextFunction): void => {
    sessions(req, res, (error?: unknown) => {
      if (error) return next(error);
      loadUser(req).then(() => next(), next);
    });
  };
}
