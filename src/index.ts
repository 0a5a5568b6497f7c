// Public library API.
export * from './engine/index.js';
export * from './models/index.js';
export * from './upscale.js';
