export { runGate, startGate, type Gate, type GateOptions } from './gate.js';
export { parseListen, type ListenAddress } from './listen-address.js';
