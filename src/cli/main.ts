#!/usr/bin/env -S MALLOC_MMAP_THRESHOLD_=262144 node --max-semi-space-size=1
import './threadpool.js';
import { createProgram } from './program.js';

await createProgram().parseAsync(process.argv);
