/** An SSE frame. Control events carry no `id:` so they never move the client's resume point. */
export function sseFrame(event: string, data: unknown, id?: string): string {
  return `${id === undefined ? '' : `id: ${id}\n`}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

export const RETRY_FRAME = 'retry: 3000\n\n';
export const PING_FRAME = ': ping\n\n';
