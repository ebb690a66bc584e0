import { z } from 'zod';

const common = {
  name: z.string().optional(),
  /** Only these severities are sent. */
  on: z.array(z.enum(['critical', 'warning', 'recovered', 'info'])).optional(),
};

export const notifierSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('slack'), webhook: z.string().min(1), channel: z.string().optional(), ...common }),
  z.strictObject({
    type: z.literal('email'),
    smtp: z.string().min(1),
    from: z.string().min(1),
    to: z.array(z.string()).min(1),
    ...common,
  }),
  z.strictObject({
    type: z.literal('webhook'),
    url: z.string().min(1),
    headers: z.record(z.string(), z.string()).optional(),
    ...common,
  }),
]);
export type NotifierConfig = z.output<typeof notifierSchema>;
