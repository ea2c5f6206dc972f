/** The IPC messages between bench/cluster.ts and its processes (bench/cluster-node.ts). */
export type NodeCommand =
  | { cmd: 'publish'; ownerId: string; rate: number; seconds: number }
  | {
      cmd: 'claims';
      loops: number;
      seconds: number;
      fairness: 'round_robin' | 'fifo';
      tag: string;
      /** Each claimer "runs" its item this long before the next claim (0: claims back to back). */
      workMs: number;
    }
  | { cmd: 'cpu' }
  | { cmd: 'stop' };

export type NodeReply =
  | { reply: 'ready'; port: number; workerIds: string[] }
  | { reply: 'published'; sent: number }
  | { reply: 'claimed'; latencies: number[]; empty: number }
  | { reply: 'cpu'; ms: number }
  | { reply: 'stopped' }
  | { reply: 'error'; message: string };
