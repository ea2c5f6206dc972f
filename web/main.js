import { render } from 'preact';
import { App } from './components/app.js';
import { html } from './lib/html.js';

const root = document.getElementById('app');
if (root) {
  root.textContent = '';
  render(html`<${App} />`, root);
}
