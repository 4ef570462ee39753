// The codec protocol's floor, for `npm run bench:codec`: a minimal HTTPS server that does only what the protocol
// forces on any codec server. It reads the JSON body, parses it, base64-decodes every payload's data and metadata
// values, base64-encodes them back and answers the same JSON: no authentication, no crypto, no limits. It uses the
// same TLS as the codec server (TLS 1.2 at least, a client certificate asked for and not required) and Node's
// keep-alive. Started by the benchmark in a process of its own:
//
//   FLOOR_PORT=0 FLOOR_CERT_FILE=server.crt FLOOR_KEY_FILE=server.key node bench/codec-floor.mjs
//
// It prints one JSON line with the port it listens on.
import { Buffer } from 'node:buffer';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import process from 'node:process';

const reencode = (base64) => Buffer.from(base64 ?? '', 'base64').toString('base64');

const server = createServer({
  cert: readFileSync(process.env.FLOOR_CERT_FILE), key: readFileSync(process.env.FLOOR_KEY_FILE), minVersion: 'TLSv1.2',
  requestCert: true, rejectUnauthorized: false, keepAliveTimeout: 5_000,
}, (req, res) => {
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', () => {
    const { payloads } = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    const answer = JSON.stringify({ payloads: payloads.map((p) => ({
      metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, reencode(v)])),
      data: reencode(p.data),
    })) });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(answer) }).end(answer);
  });
});
server.listen(Number(process.env.FLOOR_PORT ?? 0), '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
