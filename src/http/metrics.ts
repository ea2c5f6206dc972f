import type { WorkerStats } from '../core/workers.ts';

const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

interface Series {
  labels: string;
  count: number;
  sum: number;
  buckets: number[];
}

const escapeLabel = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

/**
 * Request counts and durations by method, route and status, rendered as Prometheus text.
 * @example metrics.observe('GET', '/health', 200, 0.002); const text = metrics.render();
 */
export class HttpMetrics {
  readonly #series = new Map<string, Series>();

  observe(method: string, route: string, status: number, seconds: number): void {
    const labels = `method="${escapeLabel(method)}",route="${escapeLabel(route)}",status="${status}"`;
    let s = this.#series.get(labels);
    if (!s) {
      s = { labels, count: 0, sum: 0, buckets: BUCKETS.map(() => 0) };
      this.#series.set(labels, s);
    }
    s.count++;
    s.sum += seconds;
    BUCKETS.forEach((le, i) => {
      if (seconds <= le && s) {
        s.buckets[i] = (s.buckets[i] ?? 0) + 1;
      }
    });
  }

  render(): string {
    const lines = [
      '# HELP easel_http_requests_total HTTP requests answered, by method, route and status.',
      '# TYPE easel_http_requests_total counter',
    ];
    for (const s of this.#series.values()) {
      lines.push(`easel_http_requests_total{${s.labels}} ${s.count}`);
    }
    lines.push(
      '# HELP easel_http_request_duration_seconds Time to answer HTTP requests.',
      '# TYPE easel_http_request_duration_seconds histogram',
    );
    for (const s of this.#series.values()) {
      BUCKETS.forEach((le, i) => {
        lines.push(`easel_http_request_duration_seconds_bucket{${s.labels},le="${le}"} ${s.buckets[i]}`);
      });
      lines.push(`easel_http_request_duration_seconds_bucket{${s.labels},le="+Inf"} ${s.count}`);
      lines.push(`easel_http_request_duration_seconds_sum{${s.labels}} ${s.sum}`);
      lines.push(`easel_http_request_duration_seconds_count{${s.labels}} ${s.count}`);
    }
    return `${lines.join('\n')}\n`;
  }
}

/**
 * Items done and seconds busy per worker of every process (API.md section 8), as Prometheus counters.
 * @example text += renderWorkerStats(await deps.workers.stats());
 */
export function renderWorkerStats(stats: WorkerStats[]): string {
  const lines = [
    '# HELP easel_worker_items_total Queue items a worker finished (completed, failed or canceled).',
    '# TYPE easel_worker_items_total counter',
  ];
  const label = (w: WorkerStats) =>
    `worker_id="${escapeLabel(w.workerId)}",node_id="${escapeLabel(w.nodeId)}",device="${escapeLabel(w.device)}"`;
  for (const w of stats) {
    lines.push(`easel_worker_items_total{${label(w)}} ${w.itemsDone}`);
  }
  lines.push(
    '# HELP easel_worker_busy_seconds_total Seconds a worker spent running items (the current one once it ends).',
    '# TYPE easel_worker_busy_seconds_total counter',
  );
  for (const w of stats) {
    lines.push(`easel_worker_busy_seconds_total{${label(w)}} ${w.busySeconds}`);
  }
  return `${lines.join('\n')}\n`;
}
