/**
 * The flood of `npm run bench:login-flood`, in a process of its own: `connections` loops, each POSTing a
 * login with a fresh random email and a wrong password as soon as the last one answered, for `seconds`.
 * `--from=one`: every request from 127.0.0.1 over kept-alive connections (one client address); `--from=many`:
 * every request on a new connection bound to a random address of 127.64.0.0/10 (the loopback net, so the
 * server sees a different client address each time: what the per-address limit cannot stop). Prints
 * `{ total, statuses: { "401": n, ... }, errors }` as JSON on stdout.
 *
 * Usage: tsx bench/login-flood-client.ts <url> <connections> <seconds> --from=one|many
 */
import http from 'node:http';

const [url = '', connections = '40', seconds = '10', fromArg = '--from=one'] = process.argv.slice(2);
const target = new URL('/api/v1/auth/login', url);
const many = fromArg === '--from=many';
const agent = new http.Agent({ keepAlive: true, maxSockets: Number(connections) });
const statuses: Record<string, number> = {};
let errors = 0;
let total = 0;

const randomAddress = () => {
  const [a, b, c] = crypto.getRandomValues(new Uint8Array(3));
  return `127.${64 + ((a ?? 0) % 128)}.${b}.${Math.max(1, c ?? 1)}`;
};

function once(): Promise<void> {
  const body = JSON.stringify({
    email: `flood-${crypto.randomUUID()}@example.com`,
    password: 'wrong password, again',
  });
  return new Promise((resolve) => {
    const req = http.request(
      target,
      {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) },
        ...(many ? { agent: false, localAddress: randomAddress() } : { agent }),
      },
      (res) => {
        res.resume();
        res.on('end', () => {
          total++;
          statuses[res.statusCode ?? 0] = (statuses[res.statusCode ?? 0] ?? 0) + 1;
          resolve();
        });
      },
    );
    req.on('error', () => {
      errors++;
      resolve();
    });
    req.end(body);
  });
}

const until = Date.now() + Number(seconds) * 1000;
await Promise.all(
  Array.from({ length: Number(connections) }, async () => {
    while (Date.now() < until) {
      await once();
    }
  }),
);
agent.destroy();
console.log(JSON.stringify({ total, statuses, errors }));
