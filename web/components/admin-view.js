import { useState } from 'preact/hooks';
import { html } from '../lib/html.js';
import { AuditLog } from './audit-log.js';
import { ProcessorControls } from './processor-controls.js';
import { UsersAdmin } from './users-admin.js';

/** Administration: accounts, the processor and the queue, the audit log (read again after each action here). */
export function AdminView() {
  const [revision, setRevision] = useState(0);
  const changed = () => setRevision((r) => r + 1);
  return html`<div class="admin">
    <${UsersAdmin} onChange=${changed} />
    <${ProcessorControls} onChange=${changed} />
    <${AuditLog} revision=${revision} />
  </div>`;
}
