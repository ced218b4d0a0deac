import { HttpError } from '@q/core/internal';

/** 400 `invalid_field` (or `missing_field` when absent) naming the request field at fault. */
export function fieldError(field: string, problem: string, missing = false): HttpError {
  return new HttpError(400, missing ? 'missing_field' : 'invalid_field', `${field} ${problem}`, {
    details: { field },
  });
}
