// Backend selection: libtorch (N-API addon) when it is built, else TF.js.
export * from './ops.js';
export * from './host.js';
export {
  BACKENDS, fallbackReason, getOps, onFallback, parseBackend, pickBackend, resolveBackend, type BackendLoaders, type BackendName,
} from './select.js';
export * from './safetensors.js';
