// src/model/errors.ts — the one error family of xvs. Codes are stable; those shared with IPVS carry the
// errno the kernel would return, so xvsadm can print ipvsadm's message for (operation, errno).
export type XvsErrorCode =
  | 'EEXIST'      // service or dest already exists
  | 'ESRCH'       // no such service
  | 'ENOENT'      // no such dest / scheduler not found
  | 'EINVAL'      // invalid operation or argument
  | 'ENOMEM'      // a table is full
  | 'EOPNOTSUPP'  // understood, but not implemented by xvs yet
  | 'BAD_REQUEST' // the request did not validate
  | 'NO_DAEMON'   // no xvsd in this network namespace
  | 'INTERNAL';

export class XvsError extends Error {
  readonly code: XvsErrorCode;
  constructor(code: XvsErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'XvsError';
    this.code = code;
  }
}

export const isXvsError = (e: unknown): e is XvsError => e instanceof XvsError;
