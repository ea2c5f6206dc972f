import htm from 'htm';
import { h } from 'preact';

/** Tagged templates for Preact components (htm: JSX-like markup with no build step). */
export const html = htm.bind(h);
