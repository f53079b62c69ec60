// The yardstick for the hub's fan-out: a bare ws broadcast server in its own process, the pattern of the ws README,
// one parse and one serialization (to bytes, once) per message, as the hub does. A publisher connects to /publish; clients to /ws.
import { createServer } from 'node:http';
import { WebSocketServer } from 'ws';

const port = Number(process.argv[2]);
const server = createServer();
const clients = new WebSocketServer({ noServer: true });
const publishers = new WebSocketServer({ noServer: true });
server.on('upgrade', (request, socket, head) => {
  const target = request.url === '/publish' ? publishers : clients;
  target.handleUpgrade(request, socket, head, (ws) => target.emit('connection', ws, request));
});
publishers.on('connection', (ws) => ws.on('message', (data) => {
  const frame = Buffer.from(JSON.stringify(JSON.parse(data.toString())));
  for (const client of clients.clients) client.send(frame, { binary: false });
}));
server.listen(port, '127.0.0.1', () => process.stdout.write('ready\n'));
