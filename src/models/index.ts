// Importing this module registers every network.
export * from './registry.js';
import './imdn.js';
import './hpinet.js';
import './shsr.js';
import './hfdn.js';
import './rfdn.js';
import './rdnesa.js';
