/** Typed progress events the engine emits; the CLI draws bars from them, the daemon logs them. */
export type EngineEvent =
  | { type: 'phase'; subject: string; phase: string }
  | { type: 'progress'; subject: string; phase: string; done: number; total?: number; unit: 'bytes' | 'items' }
  | { type: 'warning'; subject: string; message: string };
