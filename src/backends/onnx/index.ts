// ONNX export (a recording backend of the op interface → ONNX graph).
export { exportOnnx, ExportError, lightsrVersion, MIN_OPSET, MAX_OPSET, type ExportOptions, type ExportResult } from './export.js';
