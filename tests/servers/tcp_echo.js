// GOOD: a Node.js echo server (port from $PORT).
const net = require("net");
net.createServer((socket) => socket.pipe(socket)).listen(Number(process.env.PORT), "127.0.0.1");
