const encoder = new TextEncoder();

/** An SSE frame. Control events carry no `id:` so they never move the client's resume point. */
export function sseFrame(event: string, data: unknown, id?: string): string {
  return `${id === undefined ? '' : `id: ${id}\n`}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/**
 * A frame's bytes, for the rare frames built per connection (control events).
 * @example conn.write(encodeFrame(sseFrame('resync', { reason })), now);
 */
export function encodeFrame(frame: string): Uint8Array {
  return encoder.encode(frame);
}

/**
 * The part of a channel event's frame after its `id:` line, encoded once per event for every channel.
 * @example channel.publish(eventBody('queue_cleared', { queue_id: 'default' }), now);
 */
export function eventBody(event: string, data: unknown): Uint8Array {
  return encoder.encode(sseFrame(event, data));
}

export const RETRY_FRAME = encodeFrame('retry: 3000\n\n');
export const PING_FRAME = encodeFrame(': ping\n\n');
