import type { Response } from 'express';

// Halo's error answers as the emulator gives them. The spec declares 400/401/404/429 but no
// error body; public Halo clients read a serialized .NET exception ({ClassName, Message}) first
// (homotechsual/HaloAPI New-HaloError.ps1), so the resource server answers in that shape.

/** ClassName of every resource-server error body. */
const haloErrorClassName = 'System.Exception';

export function sendHaloError(res: Response, status: number, message: string): void {
  if (status === 401) res.set('WWW-Authenticate', 'Bearer error="invalid_token"');
  res.status(status).json({ ClassName: haloErrorClassName, Message: message });
}

/** A refusal found while reading a request; the route answers it with sendHaloError. */
export class HaloRequestError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'HaloRequestError';
  }
}

export const badRequest = (message: string) => new HaloRequestError(400, message);
export const notFound = (message: string) => new HaloRequestError(404, message);

/** The authorisation server's refusals: OAuth 2.0 error bodies (RFC 6749 section 5.2). */
export function sendOAuthError(
  res: Response,
  status: number,
  error: string,
  description: string,
): void {
  res.status(status).json({ error, error_description: description });
}
