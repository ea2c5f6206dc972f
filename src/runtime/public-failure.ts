import { loggableError } from '../core/logger.ts';
import { RuntimeError } from './interface.ts';

/** A V8 stack frame line (`    at fn (/srv/easel/src/x.ts:1:2)`). */
const FRAME = /^\s*at\s/;
/** An absolute file path (POSIX, `file://` or Windows), not a URL's path: at least two segments. */
const PATH = /(?<![\w:/.])(?:file:\/\/)?(?:\/[^\s/:'"()[\]<>,;]+){2,}\/?|\b[A-Za-z]:\\[^\s'"()<>,;]+/g;

/** `text` with each absolute path cut to its last segment (`/srv/easel/models/unet.onnx` → `unet.onnx`). */
export function withoutPaths(text: string): string {
  return text.replace(
    PATH,
    (path) =>
      path
        .replace(/[\\/]+$/, '')
        .split(/[\\/]/)
        .pop() ?? '',
  );
}

/**
 * How a failure is shown to the item's owner (`error_message`, `error_traceback`; API.md section 1): no
 * server file paths, no stack frames, no SQL. The original stays in `cause`, for the log.
 * @example const failure = publicFailure(err, 'InternalError'); logger.warn('item failed', { ...loggableError(failure.cause) });
 */
export function publicFailure(err: unknown, errorType: string): RuntimeError {
  if (err instanceof RuntimeError) {
    const lines = (err.traceback ?? '').split('\n').filter((line) => !FRAME.test(line));
    const traceback = withoutPaths(lines.join('\n')).trim();
    return new RuntimeError(err.errorType, withoutPaths(err.message), traceback === '' ? null : traceback, {
      cause: err.cause ?? err,
    });
  }
  // A statement's error says what failed without its SQL or parameters (a password hash, a token).
  return new RuntimeError(errorType, withoutPaths(loggableError(err).error), null, { cause: err });
}
