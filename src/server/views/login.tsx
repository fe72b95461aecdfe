import { Csrf, Page } from './layout.js';

export function LoginPage({
  csrfToken,
  error,
  email,
}: {
  csrfToken: string;
  error?: string | undefined;
  email?: string | undefined;
}) {
  return (
    <Page title="Log in">
      <section>
        <h1>Log in</h1>
        {error ? (
          <p class="notice bad" role="alert">
            {error}
          </p>
        ) : null}
        <form method="post" action="/login">
          <Csrf token={csrfToken} />
          <label for="email">Email</label>
          <input
            id="email"
            name="email"
            type="email"
            autocomplete="username"
            required
            value={email ?? ''}
          />
          <label for="password">Password</label>
          <input
            id="password"
            name="password"
            type="password"
            autocomplete="current-password"
            required
          />
          <div class="actions">
            <button type="submit" class="primary">
              Log in
            </button>
          </div>
        </form>
      </section>
    </Page>
  );
}
