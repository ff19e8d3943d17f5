// The same room on socket.io, for comparison with Tabys's own hub:
// participants join one room, chat is stamped on receipt (µs of the wall
// clock, as Tabys does), numbered and broadcast to everyone; moderators'
// banner events are broadcast the same way; the participant count is sent
// once a second when it changes. Driven by `tabys bench room --protocol socketio`.
'use strict';

const http = require('http');
const { Server } = require('socket.io');

const port = Number(process.env.PORT || 3000);
const server = http.createServer();
const io = new Server(server, {
  // WebSocket only, as the Tabys room; no long-polling fallback.
  transports: ['websocket'],
  perMessageDeflate: false,
  maxHttpBufferSize: 16 * 1024,
});

const ROOM = 'room';
let seq = 0;
let lastCount = -1;

function nowUs() {
  return Math.round((performance.timeOrigin + performance.now()) * 1000);
}

io.on('connection', (socket) => {
  socket.join(ROOM);
  socket.emit('hello', { seq, count: io.engine.clientsCount });
  socket.on('chat', (frame) => {
    const rx = nowUs();
    if (!frame || typeof frame.text !== 'string' || frame.text.length > 2000) {
      socket.emit('error', { code: 'live-frame-invalid' });
      return;
    }
    seq += 1;
    io.to(ROOM).emit('msg', { t: 'msg', seq, who: socket.id, text: frame.text, at: Date.now(), rx });
  });
  socket.on('banner', (frame) => {
    seq += 1;
    io.to(ROOM).emit('banner', { t: 'banner', seq, banner: frame && frame.id ? { id: frame.id } : null });
  });
});

setInterval(() => {
  const n = io.engine.clientsCount;
  if (n !== lastCount) {
    lastCount = n;
    io.to(ROOM).emit('count', { t: 'count', n });
  }
}, 1000);

server.listen(port, '127.0.0.1', () => {
  console.log(`socket.io room on ${port}`);
});
