// GOOD: Node length-prefixed frame echo with a buffer accumulator.
const net = require('net');
const server = net.createServer((sock) => {
  let buf = Buffer.alloc(0);
  sock.on('data', (chunk) => {
    buf = Buffer.concat([buf, chunk]);
    while (buf.length >= 4) {
      const len = buf.readUInt32BE(0);
      if (buf.length < 4 + len) break;
      sock.write(buf.subarray(0, 4 + len));
      buf = buf.subarray(4 + len);
    }
  });
  sock.on('error', () => {});
});
server.listen(Number(process.argv[2]), '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
