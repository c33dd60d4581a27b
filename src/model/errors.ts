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
  | 'UNAUTHORIZED' // API over TCP without a valid bearer token
  | 'NOT_FOUND'   // API: no such route
  | 'INTERNAL';

export class XvsError extends Error {
  readonly code: XvsErrorCode;
  /** In a batch: the 0-based index of the command that failed (so -R can name the line). */
  readonly index?: number;
  constructor(code: XvsErrorCode, message: string, options?: { cause?: unknown; index?: number }) {
    super(message, options);
    this.name = 'XvsError';
    this.code = code;
    if (options?.index !== undefined) this.index = options.index;
  }
}

export const isXvsError = (e: unknown): e is XvsError => e instanceof XvsError;
