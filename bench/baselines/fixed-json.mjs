// Baseline 1: a bare node:http server answering a fixed JSON body (the ceiling for any Node HTTP service).
import { createServer } from 'node:http';

const body = JSON.stringify({ fulfillmentText: 'Your checking account balance is $3,247.82.' });
const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  });
});
server.listen(Number(process.env.PORT), '127.0.0.1', () => process.stdout.write('Listening\n'));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
