import { html } from '../lib/html.js';
import { AuditLog } from './audit-log.js';
import { ProcessorControls } from './processor-controls.js';
import { UsersAdmin } from './users-admin.js';

/** Administration: accounts, the processor and the queue, the audit log. */
export function AdminView() {
  return html`<div class="admin">
    <${UsersAdmin} />
    <${ProcessorControls} />
    <${AuditLog} />
  </div>`;
}
