// The demo's mail: a sink on loopback that SMTP_URL points at, and an email alert channel for
// the seeded partner, so an alert (e.g. tokens revoked in the emulator) shows on its page.
import { startMailSink } from '../emulator/mail-sink.js';
import type { Services } from '../src/dependencies.js';
import { mailtoUrl } from '../src/domain/email-messages.js';

export async function startDemoMail(env: Record<string, string | undefined>) {
  const sink = await startMailSink();
  Object.assign(env, {
    SMTP_URL: sink.smtpUrl,
    SMTP_FROM: env.SMTP_FROM ?? 'license-sync demo <alerts@license-sync.example>',
  });
  return {
    pageUrl: sink.pageUrl,
    /** The partner's people get its alerts by email, as a partner would set it up. */
    async addChannel(services: Services, partnerId: string, address: string): Promise<void> {
      await services.notificationChannels.create(
        partnerId,
        { kind: 'email', url: mailtoUrl([address]) },
        'demo',
      );
    },
    close: () => sink.close(),
  };
}
