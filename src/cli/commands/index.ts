import type { Command } from 'commander';
import { registerBackup } from './backup.js';
import { registerCheck } from './check.js';
import { registerConfig } from './config.js';
import { registerCopy } from './copy.js';
import { registerForget } from './forget.js';
import { registerGate } from './gate.js';
import { registerInit } from './init.js';
import { registerKey } from './key.js';
import { registerKillswitch } from './killswitch.js';
import { registerRestore } from './restore.js';
import { registerSnapshots } from './snapshots.js';
import { registerStats } from './stats.js';

/** Every command, in the order --help lists them. Adding a command: one file, one line here. */
export const COMMANDS: Array<(program: Command) => void> = [
  registerInit,
  registerBackup,
  registerSnapshots,
  registerRestore,
  registerCheck,
  registerForget,
  registerCopy,
  registerStats,
  registerKey,
  registerKillswitch,
  registerGate,
  registerConfig,
];
