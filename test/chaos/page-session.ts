/**
 * A browser's session with the service's pages, over fetch against a running process: its own
 * cookie jar, the login form, CSRF fields. Redirects are not followed, so each answer is seen.
 */
export class PageSession {
  private readonly cookies = new Map<string, string>();

  constructor(private readonly base: string) {}

  /** The hidden CSRF field of the first form on a page. */
  static csrfOf(html: string): string {
    const token = /name="_csrf" value="([^"]+)"/.exec(html)?.[1];
    if (!token) throw new Error('no CSRF field on the page');
    return token;
  }

  async logIn(email: string, password: string): Promise<void> {
    const form = await this.get('/login');
    const res = await this.post('/login', {
      _csrf: PageSession.csrfOf(form.text),
      email,
      password,
    });
    if (res.status !== 303) throw new Error(`login as ${email} answered ${res.status}`);
  }

  get(path: string) {
    return this.request('GET', path);
  }

  post(path: string, form: Record<string, string>) {
    return this.request('POST', path, new URLSearchParams(form).toString());
  }

  private async request(method: string, path: string, body?: string) {
    const res = await fetch(new URL(path, this.base), {
      method,
      redirect: 'manual',
      signal: AbortSignal.timeout(30_000),
      headers: {
        Cookie: [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '),
        ...(body ? { 'Content-Type': 'application/x-www-form-urlencoded' } : {}),
      },
      ...(body ? { body } : {}),
    });
    for (const cookie of res.headers.getSetCookie()) {
      const [pair] = cookie.split(';');
      const at = pair!.indexOf('=');
      this.cookies.set(pair!.slice(0, at).trim(), pair!.slice(at + 1));
    }
    return {
      status: res.status,
      location: res.headers.get('location') ?? undefined,
      text: await res.text(),
    };
  }
}
