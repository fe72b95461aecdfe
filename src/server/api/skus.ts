import { Router } from 'express';
import { skuProduct } from '../../domain/sku-names.js';
import type { Services } from '../../dependencies.js';

/**
 * SKUs the refreshes have seen that Microsoft's SKU reference does not list: they are named by
 * their part number until `npm run skus:update` brings a reference that has them.
 */
export async function unknownSkus(services: Services) {
  const seen = await services.runs.seenSkus();
  return seen
    .filter((s) => !skuProduct(s.skuId, s.skuPartNumber).known)
    .map((s) => ({
      skuId: s.skuId,
      skuPartNumber: s.skuPartNumber,
      companies: s.companies,
      lastSeenAt: s.lastSeenAt,
    }));
}

/** For operators: the SKUs the product names fall back to part numbers for. */
export function skusRouter(services: Services): Router {
  const router = Router();
  router.get('/unknown-skus', async (_req, res) => {
    res.json({ skus: await unknownSkus(services) });
  });
  return router;
}
