import type { NextFunction, Request, Response } from 'express';
import { z } from 'zod';
import type { Services } from '../../dependencies.js';
import { HttpError } from '../http-error.js';
import { messagePage } from '../pages.js';
import type { Viewer } from '../views/layout.js';

/** What a page says when the session could not be saved (the database is unreachable). */
const unsaved = 'The session could not be saved: reload the page to see what happened.';

/** A signed-in user or a redirect to the login page that comes back here. */
export function signedIn(req: Request, res: Response, next: NextFunction) {
  if (!req.user) return res.redirect(303, `/login?next=${encodeURIComponent(req.originalUrl)}`);
  next();
}

export function operatorsOnly(req: Request, _res: Response, next: NextFunction) {
  if (req.user?.role !== 'operator') throw new HttpError(403, 'forbidden', 'Operators only.');
  next();
}

/** What the signed-in pages share: who is looking, the one-shot flash, the partner in the path. */
export interface PageContext {
  viewerOf: (req: Request) => Viewer;
  /** The flash sentence, removed from the session as it is read. */
  takeFlash: (req: Request) => string | undefined;
  /** A 303 to `path`, with a sentence for the next page. */
  back: (req: Request, res: Response, path: string, flash?: string) => void;
  /** The partner in the path, if this user may see it; 404 otherwise (no hint it exists). */
  partnerFor: (req: Request) => ReturnType<typeof partnerIn>;
}

async function partnerIn(services: Services, req: Request) {
  const id = String(req.params.id);
  const allowed = req.user!.role === 'operator' || req.user!.partnerId === id;
  const partner =
    allowed && z.uuid().safeParse(id).success ? await services.partners.get(id) : undefined;
  if (!partner) throw new HttpError(404, 'not_found', 'No such page.');
  return partner;
}

export function pageContext(
  services: Services,
  /** The session's CSRF token for the forms of a page. */
  csrfToken: (req: Request) => string,
): PageContext {
  return {
    viewerOf: (req) => ({
      email: req.user!.email,
      role: req.user!.role,
      csrfToken: csrfToken(req),
    }),
    takeFlash: (req) => {
      const flash = req.session.flash;
      delete req.session.flash;
      return flash;
    },
    back: (req, res, path, flash) => {
      if (flash) req.session.flash = flash;
      // Saved before the redirect is sent: express-session would otherwise send the 303's
      // headers while it saves, and the browser could ask for the next page first.
      req.session.save((error?: unknown) => {
        if (error) res.status(503).type('html').send(messagePage('Try again', unsaved));
        else res.redirect(303, path);
      });
    },
    partnerFor: (req) => partnerIn(services, req),
  };
}
