import type { FieldError } from './errors.js';
import { billCustomerValues } from './scenario.js';
import { formatDate, type ConnectwiseState, type StoredAddition } from './state.js';

// How an Addition body (POST, PUT, or the result of a PATCH) becomes a stored addition, and
// the ValidationErrors ConnectWise answers when it cannot.

/** Top-level Addition fields a PATCH may change. */
const patchablePaths = [
  'product',
  'quantity',
  'lessIncluded',
  'unitPrice',
  'unitCost',
  'billCustomer',
  'effectiveDate',
  'cancelledDate',
  'taxableFlag',
  'description',
  'invoiceDescription',
  'serialNumber',
  'prorateCurrentPeriodFlag',
] as const;

type AdditionFields = Omit<
  StoredAddition,
  | 'id'
  | 'agreementId'
  | 'lastUpdated'
  | 'updatedBy'
  | 'proratePrice'
  | 'prorateCost'
  | 'extendedProratePrice'
  | 'extendedProrateCost'
>;
type Result = { fields: AdditionFields } | { errors: FieldError[] };

const problem = (code: string, field: string, message: string): FieldError => ({
  code,
  message,
  resource: 'addition',
  field,
});

function optionalDate(errors: FieldError[], field: string, value: unknown): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  const ms = typeof value === 'string' ? Date.parse(value) : NaN;
  if (Number.isNaN(ms)) {
    errors.push(problem('InvalidValue', field, `The ${field} is not a valid date.`));
    return undefined;
  }
  return formatDate(ms);
}

function numberOr(errors: FieldError[], field: string, value: unknown, fallback: number): number {
  if (value === undefined || value === null) return fallback;
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  errors.push(problem('InvalidValue', field, `The ${field} must be a number.`));
  return fallback;
}

function textUpTo(errors: FieldError[], field: string, value: unknown, max: number) {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string' && value.length <= max) return value;
  errors.push(
    problem('OutOfRange', field, `The ${field} must be text of at most ${max} characters.`),
  );
  return undefined;
}

/** Validates an Addition body; `current` gives the values a PUT or PATCH leaves unsaid. */
export function additionFields(
  state: ConnectwiseState,
  body: unknown,
  current?: StoredAddition,
): Result {
  if (body === null || typeof body !== 'object' || Array.isArray(body))
    return {
      errors: [problem('InvalidObject', 'addition', 'The body must be an Addition object.')],
    };
  const b = body as Record<string, unknown>;
  const errors: FieldError[] = [];
  const productId = (b.product as { id?: unknown } | undefined)?.id;
  const product = typeof productId === 'number' ? state.catalog.get(productId) : undefined;
  if (productId === undefined || productId === null)
    errors.push(problem('Required', 'product', 'The product field is required.'));
  else if (!product)
    errors.push(
      problem(
        'InvalidValue',
        'product/id',
        `Product with id ${JSON.stringify(productId)} was not found.`,
      ),
    );
  else if (product.inactiveFlag && product.id !== current?.productId)
    errors.push(problem('InvalidValue', 'product', `Product '${product.identifier}' is inactive.`));
  if (b.billCustomer === undefined || b.billCustomer === null)
    errors.push(problem('Required', 'billCustomer', 'The billCustomer field is required.'));
  else if (!(billCustomerValues as readonly unknown[]).includes(b.billCustomer))
    errors.push(
      problem(
        'InvalidValue',
        'billCustomer',
        `billCustomer must be one of ${billCustomerValues.join(', ')}.`,
      ),
    );
  const repointed = product && product.id !== current?.productId;
  const fields: AdditionFields = {
    productId: product?.id ?? 0,
    quantity: numberOr(errors, 'quantity', b.quantity, 0),
    lessIncluded: numberOr(errors, 'lessIncluded', b.lessIncluded, 0),
    // A new catalog item defaults the price, cost and description, as ConnectWise does.
    unitPrice: numberOr(
      errors,
      'unitPrice',
      b.unitPrice,
      repointed ? product.price : (current?.unitPrice ?? 0),
    ),
    unitCost: numberOr(
      errors,
      'unitCost',
      b.unitCost,
      repointed ? product.cost : (current?.unitCost ?? 0),
    ),
    billCustomer: b.billCustomer as StoredAddition['billCustomer'],
    effectiveDate: optionalDate(errors, 'effectiveDate', b.effectiveDate),
    cancelledDate: optionalDate(errors, 'cancelledDate', b.cancelledDate),
    taxableFlag: b.taxableFlag === undefined ? false : b.taxableFlag === true,
    prorateCurrentPeriodFlag:
      b.prorateCurrentPeriodFlag === undefined || b.prorateCurrentPeriodFlag === null
        ? false
        : b.prorateCurrentPeriodFlag === true,
    description:
      textUpTo(errors, 'description', b.description, 60) ??
      (repointed || !current ? (product?.description ?? '') : current.description),
    invoiceDescription: textUpTo(errors, 'invoiceDescription', b.invoiceDescription, 6000),
    serialNumber: textUpTo(errors, 'serialNumber', b.serialNumber, 50),
  };
  if (b.taxableFlag !== undefined && typeof b.taxableFlag !== 'boolean')
    errors.push(problem('InvalidValue', 'taxableFlag', 'The taxableFlag must be true or false.'));
  const prorate = b.prorateCurrentPeriodFlag;
  if (prorate !== undefined && prorate !== null && typeof prorate !== 'boolean')
    errors.push(
      problem(
        'InvalidValue',
        'prorateCurrentPeriodFlag',
        'The prorateCurrentPeriodFlag must be true or false.',
      ),
    );
  if (fields.effectiveDate && fields.cancelledDate && fields.cancelledDate < fields.effectiveDate)
    errors.push(
      problem(
        'InvalidValue',
        'cancelledDate',
        'The cancelledDate cannot be before the effectiveDate.',
      ),
    );
  return errors.length ? { errors } : { fields };
}

/** The body an addition would be PUT with: what a PATCH starts from. */
function writableView(a: StoredAddition): Record<string, unknown> {
  return {
    product: { id: a.productId },
    quantity: a.quantity,
    lessIncluded: a.lessIncluded,
    unitPrice: a.unitPrice,
    unitCost: a.unitCost,
    billCustomer: a.billCustomer,
    effectiveDate: a.effectiveDate,
    cancelledDate: a.cancelledDate,
    taxableFlag: a.taxableFlag,
    description: a.description,
    invoiceDescription: a.invoiceDescription,
    serialNumber: a.serialNumber,
    prorateCurrentPeriodFlag: a.prorateCurrentPeriodFlag,
  };
}

/** Applies a PATCH operation list ({op, path, value}) to an addition's writable fields. */
export function patchedBody(
  current: StoredAddition,
  ops: unknown,
): Record<string, unknown> | FieldError[] {
  if (!Array.isArray(ops) || ops.length === 0)
    return [
      problem('InvalidObject', 'patch', 'The body must be a non-empty array of patch operations.'),
    ];
  const body = writableView(current);
  const errors: FieldError[] = [];
  for (const [i, raw] of ops.entries()) {
    const { op, path, value } = (raw ?? {}) as { op?: unknown; path?: unknown; value?: unknown };
    const name = typeof path === 'string' ? path.replace(/^\//, '') : '';
    const field = patchablePaths.find((p) => p.toLowerCase() === name.toLowerCase());
    const verb = typeof op === 'string' ? op.toLowerCase() : '';
    if (!['add', 'replace', 'remove'].includes(verb))
      errors.push(
        problem('InvalidValue', `[${i}].op`, `Operation '${String(op)}' is not supported.`),
      );
    else if (!field)
      errors.push(
        problem('InvalidValue', `[${i}].path`, `The path '${String(path)}' cannot be patched.`),
      );
    else body[field] = verb === 'remove' ? undefined : value;
  }
  return errors.length ? errors : body;
}
