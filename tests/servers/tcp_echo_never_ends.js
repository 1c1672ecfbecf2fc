// BUGGY: a Node.js echo server that never ends a connection: on 'end' (the client stopped sending) it does
// nothing, so the half-closed connection stays open (allowHalfOpen) and its descriptor is never freed.
const net = require("net");
net.createServer({ allowHalfOpen: true }, (socket) => {
  socket.on("error", () => socket.destroy());
  socket.on("data", (data) => socket.write(data));
}).listen(Number(process.env.PORT), "127.0.0.1");
