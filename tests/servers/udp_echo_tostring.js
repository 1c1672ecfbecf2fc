// BUGGY udp-echo (Node): turns each datagram into a string and back. Text
// comes back whole; bytes that are not UTF-8 come back as U+FFFD (ef bf bd).
const dgram = require('dgram');
const socket = dgram.createSocket('udp4');
socket.on('message', (message, remote) => socket.send(message.toString(), remote.port, remote.address));
socket.bind(Number(process.argv[2]), '127.0.0.1');
