import { z } from 'zod';

const port = z.coerce.number().int().min(1).max(65535);
const positiveInt = z.coerce.number().int().min(1).max(10_000_000);
const utf8Length = (s: string) => new TextEncoder().encode(s).length;

/** The environment variables Easel reads, with their defaults (API.md section 0). */
export const EnvSchema = z
  .object({
    PORT: port.default(9090),
    HOST: z.string().min(1).default('127.0.0.1'),
    DATA_DIR: z.string().min(1).default('./data'),
    DATABASE_URL: z
      .string()
      .regex(/^postgres(ql)?:\/\//, 'must start with postgres:// or postgresql://')
      .optional(),
    AUTH_MODE: z.enum(['multiuser', 'single']).default('multiuser'),
    JWT_SECRET: z
      .string()
      .refine((s) => utf8Length(s) >= 32, 'must be at least 32 bytes of UTF-8')
      .optional(),
    ADMIN_EMAIL: z.email().optional(),
    ADMIN_PASSWORD: z.string().min(8).max(256).optional(),
    CORS_ORIGINS: z
      .string()
      .transform((s) =>
        s
          .split(',')
          .map((o) => o.trim())
          .filter(Boolean),
      )
      .pipe(z.array(z.url()))
      .optional(),
    MODELS_DIR: z.string().min(1).default('./models'),
    QUEUE_FAIRNESS: z.enum(['round_robin', 'fifo']).default('round_robin'),
    QUEUE_MAX_SIZE: positiveInt.default(10_000),
    USER_MAX_PENDING: positiveInt.default(1000),
    EXECUTION_PROVIDER: z.enum(['cpu', 'cuda']).default('cpu'),
    PROGRESS_MAX_HZ: z.coerce.number().positive().max(1000).default(10),
    LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
    /**
     * Where image and thumbnail bytes are kept: files under `DATA_DIR` (`fs`), or the database (`postgres`,
     * so processes on several machines share nothing but `DATABASE_URL`; with PGlite, its own database).
     */
    BLOB_STORE: z.enum(['fs', 'postgres']).default('fs'),
  })
  .refine((e) => (e.ADMIN_EMAIL === undefined) === (e.ADMIN_PASSWORD === undefined), {
    message: 'ADMIN_EMAIL and ADMIN_PASSWORD must be set together',
    path: ['ADMIN_PASSWORD'],
  });

export type Env = z.infer<typeof EnvSchema>;

/** The configuration could not be parsed; `message` names every bad variable. */
export class EnvError extends Error {
  override name = 'EnvError';
}

/**
 * Parses the environment once, at the entry. Empty strings count as unset.
 * @example const env = parseEnv(process.env);
 */
export function parseEnv(source: Record<string, string | undefined>): Env {
  const cleaned = Object.fromEntries(Object.entries(source).filter(([, v]) => v !== undefined && v !== ''));
  const result = EnvSchema.safeParse(cleaned);
  if (!result.success) {
    const lines = result.error.issues.map((i) => {
      const [variable = '(environment)', ...rest] = i.path.map(String);
      return `  ${variable}: ${rest.length ? `item ${rest.join('.')}: ` : ''}${i.message}`;
    });
    throw new EnvError(`invalid configuration:\n${lines.join('\n')}`);
  }
  return result.data;
}
