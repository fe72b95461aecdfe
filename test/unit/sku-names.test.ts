import { expect } from 'chai';
import { countsInBilledTotals, skuPricing, skuProduct } from '../../src/domain/sku-names.js';

const spb = 'cbdc14ab-d96c-4c30-b9f4-6ada7cdc1d46';

describe('SKU names: Microsoft product names and free or trial SKUs', () => {
  it('names a known SKU by its id, whatever the case, or by its part number', () => {
    expect(skuProduct(spb.toUpperCase(), 'SPB')).to.deep.equal({
      productName: 'Microsoft 365 Business Premium',
      pricing: 'paid',
      known: true,
    });
    expect(skuProduct(null, 'spe_e3').productName).to.equal('Microsoft 365 E3');
    // An offer name in place of the part number (a subscription subscribedskus does not list).
    expect(skuProduct(spb, 'Some offer').productName).to.equal('Microsoft 365 Business Premium');
  });

  it('falls back to the part number, then the SKU id, for a SKU the reference does not list', () => {
    const unknown = '00000000-0000-4000-8000-000000000001';
    expect(skuProduct(unknown, 'CONTOSO_ADDON')).to.deep.equal({
      productName: 'CONTOSO_ADDON',
      pricing: 'paid',
      known: false,
    });
    expect(skuProduct(unknown, null).productName).to.equal(unknown);
  });

  it('marks free and trial SKUs, known or not, and leaves paid ones alone', () => {
    expect(skuProduct(null, 'FLOW_FREE').pricing).to.equal('free');
    expect(skuProduct(null, 'POWER_BI_STANDARD')).to.include({
      productName: 'Power BI (free)',
      pricing: 'free',
    });
    expect(skuProduct(null, 'TEAMS_FREE').pricing).to.equal('free');
    expect(skuProduct(null, 'POWERAPPS_VIRAL').pricing).to.equal('trial');
    expect(skuProduct(null, 'MS_TEAMS_IW').pricing).to.equal('trial');
    // Named a trial by Microsoft though its part number does not say so.
    expect(skuProduct(null, 'FORMS_PRO').pricing).to.equal('trial');
    expect(skuProduct(null, 'CONTOSO_TRIAL').pricing).to.equal('trial');
    for (const paid of ['POWER_BI_PRO', 'SPB', 'EXCHANGESTANDARD', 'FLOW_PER_USER'])
      expect(skuProduct(null, paid).pricing, paid).to.equal('paid');
    expect(skuPricing('FREEDOM_SUITE')).to.equal('paid');
  });

  it('counts free and trial seats in billed totals only when the partner asks', () => {
    expect(countsInBilledTotals('paid', false)).to.equal(true);
    expect(countsInBilledTotals('free', false)).to.equal(false);
    expect(countsInBilledTotals('trial', false)).to.equal(false);
    expect(countsInBilledTotals('trial', true)).to.equal(true);
  });
});
