// BUGGY tcp-hello in Node: each 'data' event is taken for one line (Node's recv-is-a-message mistake).
// Lines sent in one segment come as one event, a line sent byte by byte as several: the framing checks fail,
// and their hint must speak of 'data' events, not of recv().
const net = require('net');

net.createServer((socket) => {
  socket.on('error', () => {});
  socket.write('Welcome!\n');
  socket.on('data', (chunk) => {
    const name = chunk.toString('utf8').replace(/\n$/, '');  // the bug: a chunk is not a line
    if (name === 'exit') {
      socket.end();
      return;
    }
    socket.write(`Hello, ${name}!\n`);
  });
}).listen(Number(process.argv[2]), '127.0.0.1');
