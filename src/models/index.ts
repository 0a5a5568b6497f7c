// Importing this module registers every network.
export * from './registry.js';
