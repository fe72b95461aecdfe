import type { Response } from 'express';

// ConnectWise's error body (ErrorResponseMessage): {code, message, errors?[]}, where each
// entry of errors is a ValidationError {code, message, resource, field}.

export interface FieldError {
  code: string;
  message: string;
  resource: string;
  field: string;
}

const codeByStatus: Record<number, string> = {
  400: 'InvalidObject',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  409: 'Conflict',
  429: 'TooManyRequests',
};

export function sendConnectwiseError(
  res: Response,
  status: number,
  message: string,
  options: { code?: string; errors?: FieldError[] } = {},
): void {
  res.status(status).json({
    code: options.code ?? codeByStatus[status] ?? 'UnexpectedServerError',
    message,
    ...(options.errors ? { errors: options.errors } : {}),
  });
}

/** A 400 about the query string (conditions, orderBy, paging) rather than a body. */
export function sendBadQuery(res: Response, message: string): void {
  sendConnectwiseError(res, 400, message, { code: 'InvalidRequest' });
}
