import { z } from 'zod';
import { builtInTool } from './built-in-tool';

/** The current date and time, in UTC or an IANA time zone the model names. */
export const currentTime = (requiresApproval: boolean) =>
  builtInTool({
    name: 'current_time',
    description:
      'The current date and time (ISO 8601), in UTC or in the IANA time zone given (e.g. Europe/Paris).',
    schema: z.object({
      timeZone: z.string().max(64).optional().describe('An IANA time zone; UTC when absent.'),
    }),
    requiresApproval,
    run: async ({ timeZone }) => {
      const now = new Date();
      if (!timeZone) return { result: now.toISOString(), isError: false };
      try {
        const local = new Intl.DateTimeFormat('en-CA', {
          timeZone,
          dateStyle: 'short',
          timeStyle: 'long',
          hourCycle: 'h23',
        }).format(now);
        return { result: `${local} (${timeZone}); UTC ${now.toISOString()}`, isError: false };
      } catch {
        return { result: `Unknown time zone: ${timeZone.slice(0, 64)}`, isError: true };
      }
    },
  });
