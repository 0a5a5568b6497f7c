// Public library API.
export * from './engine/index.js';
export { backendInfo, type BackendInfo } from './engine/info.js';
export * from './models/index.js';
export { loadModel, describeWeights, type WeightsCard } from './models/load.js';
export { predict, predictTensor, type PredictOptions } from './models/infer.js';
export { measureComplexity, type Complexity } from './eval/complexity.js';
export { scoreY, psnr, ssim, type Score } from './eval/metrics.js';
export { evaluateDataset, bicubicUpscaler, withSelfEnsemble, type SRFunction, type DatasetScore } from './eval/benchmark.js';
export { readImage, decodeImage, writeImage, toPlanarRGB, fromPlanar, readImageRGB } from './image/io.js';
export { imresize, imresizePlanar, modCrop } from './image/bicubic.js';
export type { RawImage, PlanarImage } from './image/types.js';
export * from './upscale.js';
export { parsePth, findStateDict, toStateDict } from './io/pth.js';
export { convertPth, type ConvertOptions, type ConvertReport } from './io/convert.js';
export { runEval, type EvalOptions, type EvalRow } from './eval/run.js';
export { OptionError } from './option-error.js';
export { checkScale } from './pipeline/scale.js';
export { exportOnnx, ExportError, type ExportOptions, type ExportResult } from './backends/onnx/export.js';
