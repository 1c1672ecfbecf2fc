// BUGGY: a Node.js echo server that handles SIGTERM and carries on (it never exits).
const net = require("net");
process.on("SIGTERM", () => console.log("SIGTERM received, carrying on"));
net.createServer((socket) => {
  socket.on("error", () => socket.destroy());
  socket.pipe(socket);
}).listen(Number(process.env.PORT), "127.0.0.1");
