import type { ComponentChildren, VNode } from 'preact';
import { render } from 'preact-render-to-string';

export interface Viewer {
  email: string;
  role: 'operator' | 'partner';
  csrfToken: string;
}

/** A time as the pages show it (minutes, UTC), or `empty` when there is none. */
export const when = (date: Date | string | null | undefined, empty = '—') =>
  date ? `${new Date(date).toISOString().replace('T', ' ').slice(0, 16)} UTC` : empty;

const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
/** A day as the pages show it, e.g. "12 Dec 2026" (UTC; the same words whatever the locale data). */
export const day = (date: Date | string) => {
  const d = new Date(date);
  return `${d.getUTCDate()} ${months[d.getUTCMonth()]} ${d.getUTCFullYear()}`;
};

/** The hidden field every form carries; the server refuses a form without it. */
export const Csrf = ({ token }: { token: string }) => (
  <input type="hidden" name="_csrf" value={token} />
);

export interface PageProps {
  title: string;
  viewer?: Viewer | undefined;
  /** The partner whose tabs are shown. */
  partner?: { id: string; name: string } | undefined;
  current?:
    | 'delegated-admin'
    | 'companies'
    | 'access'
    | 'billing'
    | 'renewals'
    | 'setup'
    | 'alerts'
    | 'operator';
  /** A page whose table needs more width than text does. Default: false */
  wide?: boolean | undefined;
  /** Seconds before the browser reloads the page (live progress without JavaScript). */
  refreshSeconds?: number | undefined;
  children: ComponentChildren;
}

export function Page({
  title,
  viewer,
  partner,
  current,
  refreshSeconds,
  wide,
  children,
}: PageProps) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        {refreshSeconds ? <meta http-equiv="refresh" content={String(refreshSeconds)} /> : null}
        <title>{`${title} · license-sync`}</title>
        <link rel="icon" href="/favicon.ico" type="image/svg+xml" />
        <link rel="stylesheet" href="/static/style.css" />
      </head>
      <body>
        <header>
          <a class="brand" href="/">
            license-sync
          </a>
          {viewer ? (
            <nav aria-label="Main">
              {partner ? (
                <>
                  <a
                    href={`/partners/${partner.id}/delegated-admin`}
                    aria-current={current === 'delegated-admin' ? 'page' : undefined}
                  >
                    Delegated Admin
                  </a>
                  <a
                    href={`/partners/${partner.id}/companies`}
                    aria-current={current === 'companies' ? 'page' : undefined}
                  >
                    Companies
                  </a>
                  <a
                    href={`/partners/${partner.id}/access`}
                    aria-current={current === 'access' ? 'page' : undefined}
                  >
                    Access
                  </a>
                  <a
                    href={`/partners/${partner.id}/billing`}
                    aria-current={current === 'billing' ? 'page' : undefined}
                  >
                    Billing
                  </a>
                  <a
                    href={`/partners/${partner.id}/renewals`}
                    aria-current={current === 'renewals' ? 'page' : undefined}
                  >
                    Renewals
                  </a>
                  <a
                    href={`/partners/${partner.id}/setup`}
                    aria-current={current === 'setup' ? 'page' : undefined}
                  >
                    Setup
                  </a>
                  <a
                    href={`/partners/${partner.id}/alerts`}
                    aria-current={current === 'alerts' ? 'page' : undefined}
                  >
                    Alerts
                  </a>
                </>
              ) : null}
              {viewer.role === 'operator' ? (
                <>
                  <a href="/operator" aria-current={current === 'operator' ? 'page' : undefined}>
                    Partners
                  </a>
                  <a href="/admin/queues">Queues</a>
                </>
              ) : null}
            </nav>
          ) : null}
          {viewer ? (
            <form method="post" action="/logout">
              <Csrf token={viewer.csrfToken} />
              <span class="muted who" title={viewer.email}>
                {viewer.email}
              </span>{' '}
              <button type="submit">Log out</button>
            </form>
          ) : null}
        </header>
        <main class={wide ? 'wide' : undefined}>{children}</main>
      </body>
    </html>
  );
}

/** A whole HTML document. */
export const html = (page: VNode) => `<!doctype html>${render(page)}`;
