import process from 'node:process';

/** How many lines are kept before they are written at once, whatever the turn of the event loop. */
const MAX_PENDING_LINES = 512;

export interface LineWriter {
  /** Queues one line (no newline); it is written before the event loop's next turn ends. */
  write(line: string): void;
  /** Writes the queued lines now. */
  flush(): void;
}

/**
 * Log lines to a stream (stdout), written together once per turn of the event loop: one write, so one
 * system call to a pipe or a file, per turn instead of one `console.log` per line. Under load the server
 * logs one line per request, and a synchronous write per line (stdout is synchronous for pipes and files)
 * cost as much CPU as the request itself on the short routes (issue 15). Lines keep their order; the queue
 * is written when the process exits (`exit` event) and by `flush`, so nothing written before an orderly
 * stop or a crash is lost; a `SIGKILL` loses at most the lines of the turn in progress.
 * @example const out = batchedLineWriter(); const logger = createJsonLogger({ level, write: out.write });
 */
export function batchedLineWriter(
  stream: { write(chunk: string): unknown } = process.stdout,
  schedule: (flush: () => void) => void = setImmediate,
): LineWriter {
  let pending: string[] = [];
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    if (pending.length === 0) {
      return;
    }
    const chunk = `${pending.join('\n')}\n`;
    pending = [];
    stream.write(chunk);
  };
  process.on('exit', flush);
  return {
    write(line) {
      pending.push(line);
      if (pending.length >= MAX_PENDING_LINES) {
        flush();
      } else if (!scheduled) {
        scheduled = true;
        schedule(flush);
      }
    },
    flush,
  };
}
