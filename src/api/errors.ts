// src/api/errors.ts — the one table from xvs's stable error codes to HTTP statuses for the JSON API.
import type { XvsErrorCode } from '../model/errors.js';

export const HTTP_STATUS: Record<XvsErrorCode, number> = {
  EEXIST: 409,
  ESRCH: 404,
  ENOENT: 404,
  EINVAL: 422,
  ENOMEM: 507,
  EOPNOTSUPP: 501,
  BAD_REQUEST: 400,
  NO_DAEMON: 503,
  UNAUTHORIZED: 401,
  NOT_FOUND: 404,
  INTERNAL: 500,
};

export const httpStatus = (code: XvsErrorCode): number => HTTP_STATUS[code] ?? 500;
