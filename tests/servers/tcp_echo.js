// GOOD: a Node.js echo server (port from $PORT).
// The 'error' handler matters: without it a client's reset (ECONNRESET) is an
// unhandled 'error' event, which ends the whole process.
const net = require("net");
net.createServer((socket) => {
  socket.on("error", () => socket.destroy());
  socket.pipe(socket);
}).listen(Number(process.env.PORT), "127.0.0.1");
