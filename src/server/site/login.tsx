import { createHash } from 'node:crypto';
import { Router, type Request, type Response } from 'express';
import { rateLimit } from 'express-rate-limit';
import type { RedisClient } from '../../queue/connections.js';
import { z } from 'zod';
import type { Config } from '../../../config/index.js';
import { singleLineText } from '../../domain/text.js';
import type { Services } from '../../dependencies.js';
import type { loginFormToken } from '../auth/login-form-token.js';
import { decoyHash, verifyPassword } from '../auth/passwords.js';
import { redisLimitStore } from '../rate-limit-store.js';
import { invalidRequestSentence } from '../validation.js';
import { html } from '../views/layout.js';
import { LoginPage } from '../views/login.js';
import { signedIn } from './page-context.js';

/** Failed login attempts per address per window. Default: 10 per 15 minutes */
const loginAttempts = { limit: 10, windowMs: 15 * 60 * 1000 };
/**
 * Failed login attempts per account (the normalised email) per window, from any number of
 * addresses. Default: 10 per 15 minutes
 */
const accountLoginAttempts = { limit: 10, windowMs: 15 * 60 * 1000 };

/** Where a signed-in user lands, login (limited per address and per account) and logout. */
export function loginPages(options: {
  config: Config;
  services: Services;
  redis: RedisClient;
  /** The login form's own token: no session exists before a login to keep one in. */
  loginForm: ReturnType<typeof loginFormToken>;
}): Router {
  const { config, services, redis, loginForm } = options;
  const router = Router();

  router.get('/', signedIn, (req, res) => {
    res.redirect(
      303,
      req.user!.role === 'operator'
        ? '/operator'
        : `/partners/${req.user!.partnerId}/delegated-admin`,
    );
  });

  router.get('/login', (req, res) => {
    if (req.user) return res.redirect(303, '/');
    res.type('html').send(html(<LoginPage csrfToken={loginForm.issue(req, res)} />));
  });

  const redisStore = (name: string) => redisLimitStore(redis, `${config.queuePrefix}:${name}:`);
  const tooMany = (req: Request, res: Response, error: string) => {
    res
      .status(429)
      .type('html')
      .send(html(<LoginPage csrfToken={loginForm.issue(req, res)} error={error} />));
  };
  const limiter = rateLimit({
    ...loginAttempts,
    // Failed attempts count; a user who logs in fine is never slowed down.
    skipSuccessfulRequests: true,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    store: redisStore('login'),
    // A Redis outage must not lock everyone out of logging in.
    passOnStoreError: true,
    // Any client may send X-Forwarded-For; TRUST_PROXY decides whether it is believed.
    validate: { xForwardedForHeader: false },
    handler: (req, res) =>
      tooMany(req, res, 'Too many login attempts. Wait 15 minutes and try again.'),
  });
  // Guessing one account's password from many addresses is limited here; the email is hashed
  // so the keys in Redis do not list who tried to log in.
  const accountLimiter = rateLimit({
    ...accountLoginAttempts,
    skipSuccessfulRequests: true,
    standardHeaders: false,
    legacyHeaders: false,
    keyGenerator: (req) =>
      createHash('sha256')
        .update(
          String((req.body as { email?: unknown } | undefined)?.email)
            .trim()
            .toLowerCase(),
        )
        .digest('base64url'),
    store: redisStore('login-account'),
    passOnStoreError: true,
    handler: (req, res) =>
      tooMany(req, res, 'Too many failed logins for this account. Wait 15 minutes and try again.'),
  });

  router.post('/login', limiter, accountLimiter, async (req, res) => {
    const body = z
      .object({ email: singleLineText({ max: 320 }), password: z.string().max(1024) })
      .safeParse(req.body);
    if (!body.success) {
      res
        .status(400)
        .type('html')
        .send(
          html(
            <LoginPage
              csrfToken={loginForm.issue(req, res)}
              error={invalidRequestSentence(body.error)}
            />,
          ),
        );
      return;
    }
    const email = body.data.email;
    const user = await services.users.byEmail(email);
    // Same work whether or not the email exists.
    const ok = await verifyPassword(body.data.password, user?.passwordHash ?? decoyHash);
    if (!user || !ok) {
      res
        .status(401)
        .type('html')
        .send(
          html(
            <LoginPage
              csrfToken={loginForm.issue(req, res)}
              email={email}
              error="Wrong email or password."
            />,
          ),
        );
      return;
    }
    // A new session id at login: a session fixed before it is worth nothing.
    await new Promise<void>((resolve, reject) =>
      req.session.regenerate((e?: Error) => (e ? reject(e) : resolve())),
    );
    req.session.userId = user.id;
    await services.users.loggedIn(user.id);
    // Saved before the redirect: the next page must find the session (see `back`).
    await new Promise<void>((resolve, reject) =>
      req.session.save((e?: Error) => (e ? reject(e) : resolve())),
    );
    const next =
      typeof req.query.next === 'string' && /^\/[^/\\]/.test(req.query.next) ? req.query.next : '/';
    res.redirect(303, next);
  });

  router.post('/logout', (req, res, next) => {
    req.session.destroy((error) => {
      if (error) return next(error);
      res.clearCookie('ls.sid').redirect(303, '/login');
    });
  });

  return router;
}
