// BUGGY: a Node.js echo server with no 'error' handler on its sockets: a
// client that vanishes with a reset (ECONNRESET) is an unhandled 'error'
// event, which ends the whole process.
const net = require("net");
net.createServer((socket) => {
  socket.pipe(socket);
}).listen(Number(process.env.PORT), "127.0.0.1");
