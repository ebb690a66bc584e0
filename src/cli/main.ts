#!/usr/bin/env node
import './threadpool.js';
import { createProgram } from './program.js';

await createProgram().parseAsync(process.argv);
