import type { ProductSeries, SeatField } from '../../domain/seat-history.js';
import type { seatChangeView } from '../api/seat-history.js';
import { Page, when, type Viewer } from './layout.js';
import { SeatChart } from './seat-chart.js';

export interface CompanyPageProps {
  viewer: Viewer;
  partner: { id: string; name: string };
  company: { id: string; name: string; customerTenantId: string | null; domain: string | null };
  licenses: {
    skuPartNumber: string;
    activeUnits: number;
    consumedUnits: number;
    billedQuantity: number;
  }[];
  series: ProductSeries[];
  days: number;
  history: ReturnType<typeof seatChangeView>[];
}

const fieldLabel: Record<SeatField, string> = {
  purchased: 'Purchased',
  assigned: 'Assigned',
  billed: 'Billed by Microsoft',
  psaBilled: 'Billed in the PSA',
};

/** "+3" or "−2" (a minus sign, not a hyphen). */
const signed = (n: number) => (n > 0 ? `+${n}` : n < 0 ? `\u2212${-n}` : '0');

export function CompanyPage({
  viewer,
  partner,
  company,
  licenses,
  series,
  days,
  history,
}: CompanyPageProps) {
  const base = `/partners/${partner.id}/companies/${company.id}`;
  return (
    <Page title={company.name} viewer={viewer} partner={partner} current="companies">
      <p class="small">
        <a href={`/partners/${partner.id}/companies`}>← Companies</a>
      </p>
      <h1>
        {partner.name} · {company.name}
      </h1>
      <p class="muted">{company.domain ?? company.customerTenantId}</p>
      <section aria-labelledby="licenses">
        <h2 id="licenses">Licenses now</h2>
        {licenses.length === 0 ? (
          <p class="muted">No licenses yet.</p>
        ) : (
          <table class="stack">
            <thead>
              <tr>
                <th scope="col">Product</th>
                <th scope="col" class="num">
                  Purchased
                </th>
                <th scope="col" class="num">
                  Assigned
                </th>
                <th scope="col" class="num">
                  Billed by Microsoft
                </th>
              </tr>
            </thead>
            <tbody>
              {licenses.map((l) => (
                <tr data-testid="license">
                  <td data-label="Product">{l.skuPartNumber}</td>
                  <td data-label="Purchased" class="num">
                    {l.activeUnits}
                  </td>
                  <td data-label="Assigned" class="num">
                    {l.consumedUnits}
                  </td>
                  <td data-label="Billed by Microsoft" class="num">
                    {l.billedQuantity}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      <section aria-labelledby="seats">
        <h2 id="seats">Seats over {days} days</h2>
        {series.length === 0 ? (
          <p class="muted">No seats recorded in the last {days} days.</p>
        ) : (
          <div class="charts">
            {series.map((s) => (
              <SeatChart series={s} days={days} />
            ))}
          </div>
        )}
      </section>
      <section aria-labelledby="history">
        <h2 id="history">Seat history</h2>
        <p class="muted small">
          Every change between readings, newest first. <a href={`${base}?format=csv`}>CSV</a>
        </p>
        {history.length === 0 ? (
          <p class="muted">No changes recorded yet: the first refresh records the seats found.</p>
        ) : (
          <table class="stack">
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Product</th>
                <th scope="col">Count</th>
                <th scope="col" class="num">
                  Change
                </th>
                <th scope="col" class="num">
                  From → to
                </th>
                <th scope="col">Run</th>
              </tr>
            </thead>
            <tbody>
              {history.map((h) => (
                <tr data-testid="seat-change">
                  <td data-label="When" class="nowrap">
                    {when(h.at)}
                  </td>
                  <td data-label="Product">{h.productName}</td>
                  <td data-label="Count">{fieldLabel[h.field]}</td>
                  <td data-label="Change" class="num">
                    {h.initial ? <span class="muted">first reading</span> : signed(h.to - h.from)}
                  </td>
                  <td data-label="From → to" class="num">
                    {h.from} → {h.to}
                  </td>
                  <td data-label="Run" class="small muted">
                    {h.runId ? h.runId.slice(0, 8) : 'reconciliation'}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </Page>
  );
}
