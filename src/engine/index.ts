// Backend selection: libtorch (N-API addon) when it is built, else TF.js.
export * from './ops.js';
export * from './host.js';
export { getOps, type BackendName } from './select.js';
export * from './safetensors.js';
