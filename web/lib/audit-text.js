/** @typedef {import('../api/audit.js').AuditEntry} AuditEntry */

/**
 * An audit entry's target by name: an account by its name (or, once deleted, the email the entry kept), a
 * queue item by its number, a board by its name; the raw id goes in the tooltip.
 * @param {AuditEntry} entry
 * @param {Map<string, string>} names user id → name
 * @returns {{ text: string, title: string }}
 */
export function auditTarget(entry, names) {
  const id = entry.target_id ?? '';
  const details = entry.details ?? {};
  const title = entry.target_type ? `${entry.target_type} ${id}` : '';
  switch (entry.target_type) {
    case null:
      return { text: '—', title };
    case 'user':
      return { text: names.get(id) ?? (typeof details.email === 'string' ? details.email : id), title };
    case 'queue_item':
      return { text: `Item #${id}`, title };
    case 'queue':
      return { text: `Queue ${id}`, title };
    case 'batch':
      return { text: `Batch ${id.slice(0, 8)}`, title };
    case 'board':
      return { text: `Board ${typeof details.board_name === 'string' ? details.board_name : id}`, title };
    case 'image':
      return { text: `Image ${id.replace(/\.png$/, '').slice(0, 8)}`, title };
    default:
      return { text: `${entry.target_type} ${id}`, title };
  }
}

/** Labels of the detail keys the server records (src/services/…: `recordAudit` calls); others: the key in words. */
const LABELS = /** @type {Record<string, string>} */ ({
  user_id: 'owner',
  owner_user_id: 'owner',
  from_user_id: 'from',
  to_user_id: 'to',
  item_ids: 'new items',
  retried_item_ids: 'retried items',
  batch_ids: 'batches',
  queue_id: 'queue',
  board_id: 'board',
  is_admin: 'administrator',
  is_active: 'active',
  tokens_revoked: 'sessions ended',
  delete_images: 'with its images',
  except_current: 'except the running item',
});

/**
 * An audit entry's details as label/value pairs for people: user ids as names, item ids as `#n`, yes/no
 * for booleans, lists joined. The board's name, already the target, is left out.
 * @param {AuditEntry} entry
 * @param {Map<string, string>} names user id → name
 * @returns {[string, string][]}
 */
export function auditDetails(entry, names) {
  /** @type {(v: unknown, key: string) => string} */
  const show = (v, key) => {
    if (v === null || v === undefined || v === '') {
      return '—';
    }
    if (typeof v === 'boolean') {
      return v ? 'yes' : 'no';
    }
    if (Array.isArray(v)) {
      return v.length === 0 ? '—' : v.map((x) => show(x, key)).join(', ');
    }
    if (typeof v === 'object') {
      return JSON.stringify(v);
    }
    if (key.endsWith('user_id')) {
      return names.get(String(v)) ?? String(v);
    }
    return key.endsWith('item_ids') ? `#${v}` : String(v);
  };
  return Object.entries(entry.details ?? {})
    .filter(([key]) => !(entry.target_type === 'board' && key === 'board_name'))
    .map(([key, v]) => [LABELS[key] ?? key.replace(/_/g, ' '), show(v, key)]);
}
