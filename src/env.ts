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
    /** zlib level of stored PNGs (generated and uploaded): 0 none … 9 smallest; 1 as InvokeAI's default. */
    PNG_COMPRESSION: z.coerce.number().int().min(0).max(9).default(1),
    LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
    /**
     * Where image and thumbnail bytes are kept: files under `DATA_DIR` (`fs`), or the database (`postgres`,
     * so processes on several machines share nothing but `DATABASE_URL`; with PGlite, its own database).
     */
    BLOB_STORE: z.enum(['fs', 'postgres']).default('fs'),
    /** One worker per entry (API.md section 8): `cpu` or `cuda:N`, comma-separated. */
    DEVICES: z
      .string()
      .transform((s) => s.split(',').map((d) => d.trim()))
      .pipe(z.array(z.string().regex(/^(cpu|cuda:\d{1,3})$/, 'must be cpu or cuda:N')).min(1))
      .default(['cpu']),
    ROLE: z.enum(['all', 'api', 'worker']).default('all'),
    /** Names this process in logs, metrics and the worker list; the entry passes host name and pid. */
    NODE_ID: z
      .string()
      .regex(/^[A-Za-z0-9._:-]{1,100}$/, 'must be 1 to 100 letters, digits, dots, dashes, colons')
      .optional(),
    LEASE_SECONDS: z.coerce.number().int().min(5).max(3600).default(30),
    /**
     * Password derivations (600,000-round PBKDF2) run at once, each on a thread of its own; the default is
     * half the cores (at least 1). Logins beyond these and `PASSWORD_HASH_QUEUE` waiting get 503.
     */
    PASSWORD_HASH_THREADS: z.coerce.number().int().min(1).max(64).optional(),
    /** Logins (and password changes) that may wait for a hashing thread; default 4 per thread. */
    PASSWORD_HASH_QUEUE: z.coerce.number().int().min(0).max(1000).optional(),
  })
  .refine((e) => (e.ADMIN_EMAIL === undefined) === (e.ADMIN_PASSWORD === undefined), {
    message: 'ADMIN_EMAIL and ADMIN_PASSWORD must be set together',
    path: ['ADMIN_PASSWORD'],
  })
  .refine((e) => e.ROLE === 'all' || e.DATABASE_URL !== undefined, {
    message: 'api and worker need DATABASE_URL (PGlite serves one process)',
    path: ['ROLE'],
  });

export type Env = z.infer<typeof EnvSchema>;

/** The configuration could not be parsed; `message` names every bad variable. */
export class EnvError extends Error {
  override name = 'EnvError';
}

/**
 * Parses the environment once, at the entry. Empty strings count as unset; `defaults.NODE_ID` (host name
 * and pid, which only the entry can read) stands in for an unset `NODE_ID`.
 * @example const env = parseEnv(process.env);
 */
export function parseEnv(
  source: Record<string, string | undefined>,
  defaults: { NODE_ID?: string } = {},
): Env {
  const cleaned = Object.fromEntries(Object.entries(source).filter(([, v]) => v !== undefined && v !== ''));
  if (cleaned.NODE_ID === undefined && defaults.NODE_ID !== undefined) {
    cleaned.NODE_ID = defaults.NODE_ID;
  }
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
