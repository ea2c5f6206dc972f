import { BadRequestError } from '../../core/errors.ts';

/** A list position: the last item of the previous page, in (priority desc, item_id asc) order. */
export interface ListCursor {
  priority: number;
  itemId: number;
}

const b64url = (s: string) => btoa(s).replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');

export function encodeCursor(c: ListCursor): string {
  return b64url(`v1:${c.priority}:${c.itemId}`);
}

/** Decodes a cursor this server issued; anything else is 400 `bad_request`. */
export function decodeCursor(cursor: string): ListCursor {
  let text = '';
  try {
    text = atob(cursor.replace(/-/g, '+').replace(/_/g, '/'));
  } catch {
    // falls through to the error below
  }
  const m = /^v1:(-?\d{1,10}):(\d{1,10})$/.exec(text);
  if (!m) {
    throw new BadRequestError('The cursor was not issued by this server.');
  }
  return { priority: Number(m[1]), itemId: Number(m[2]) };
}
