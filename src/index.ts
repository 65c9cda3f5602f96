// The JupyterLab extension's entry point: the list of its plugins.
import { mainPlugin, outputPlugin } from './plugin';

export default [mainPlugin, outputPlugin];
