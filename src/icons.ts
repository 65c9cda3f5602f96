// The panel's icon (theme-coloured through JupyterLab's jp-icon classes).
import { LabIcon } from '@jupyterlab/ui-components';

const svg = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24" width="16" height="16">
  <g class="jp-icon3" fill="#616161">
    <path d="M3 3h2v16h16v2H3z"/>
    <path d="M7 15.6l4.2-5.1 3.2 2.6 4.9-6.3 1.6 1.2-6.1 7.9-3.2-2.6-3 3.6z"/>
  </g>
</svg>`;

export const trackrunIcon = new LabIcon({ name: 'trackrun:runs', svgstr: svg });
