import { expect } from 'chai';
import { licenseSnapshots, type SubscribedSkuCounts } from '../../src/domain/licenses.js';

const spb = 'cbdc14ab-d96c-4c30-b9f4-6ada7cdc1d46';
const exchange = '4b9405b0-7788-4568-add1-99614e613b69';

const sku = (id: string, part: string, activeUnits: number): SubscribedSkuCounts => ({
  activeUnits,
  consumedUnits: 1,
  suspendedUnits: 2,
  warningUnits: 3,
  productSku: { id: id.toUpperCase(), skuPartNumber: part },
});

describe('license snapshots: billed seats per SKU from subscriptions joined by SKU id', () => {
  it('adds up active subscriptions of every term of a SKU, and no other status', () => {
    const snapshots = licenseSnapshots(
      [sku(spb, 'SPB', 20), sku(exchange, 'EXCHANGESTANDARD', 5)],
      [
        { skuId: spb, quantity: 10, status: 'active' },
        { skuId: spb.toUpperCase(), quantity: 6, status: 'active' },
        { skuId: spb, quantity: 4, status: 'active' },
        ...['suspended', 'disabled', 'expired', 'deleted', 'pending', 'none'].map((status) => ({
          skuId: spb,
          quantity: 100,
          status,
        })),
        { skuId: exchange, quantity: 3, status: 'active' },
        { skuId: exchange, quantity: 2, status: 'active' },
      ],
    );
    expect(snapshots).to.deep.equal([
      {
        skuId: spb,
        skuPartNumber: 'SPB',
        activeUnits: 20,
        consumedUnits: 1,
        suspendedUnits: 2,
        warningUnits: 3,
        billedQuantity: 20,
      },
      {
        skuId: exchange,
        skuPartNumber: 'EXCHANGESTANDARD',
        activeUnits: 5,
        consumedUnits: 1,
        suspendedUnits: 2,
        warningUnits: 3,
        billedQuantity: 5,
      },
    ]);
  });

  it('a SKU without subscriptions bills nothing; billed seats of an unlisted SKU still show', () => {
    const snapshots = licenseSnapshots(
      [sku(exchange, 'EXCHANGESTANDARD', 5)],
      [{ skuId: spb, quantity: 7, status: 'active', offerName: 'Microsoft 365 Business Premium' }],
    );
    expect(
      snapshots.map((s) => [s.skuId, s.skuPartNumber, s.activeUnits, s.billedQuantity]),
    ).to.deep.equal([
      [exchange, 'EXCHANGESTANDARD', 5, 0],
      [spb, 'Microsoft 365 Business Premium', 0, 7],
    ]);
  });
});
