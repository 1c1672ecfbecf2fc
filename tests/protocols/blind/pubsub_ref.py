"""Pub/sub reference server: asyncio streams."""
import asyncio, sys

topics = {}   # topic -> set of writers

HELP = "COMMANDS SUB UNSUB PUB HELP VERSION QUIT"
VERSION = "pubsub 1.2"

def unsubscribe_all(writer):
    for t in list(topics):
        topics[t].discard(writer)
        if not topics[t]:
            del topics[t]

async def client(reader, writer):
    try:
        while True:
            line = await reader.readline()
            if not line.endswith(b"\n"):
                break
            parts = line.decode("utf-8", "replace").rstrip("\n").split(" ", 2)
            cmd = parts[0]
            if cmd == "SUB" and len(parts) == 2:
                topics.setdefault(parts[1], set()).add(writer)
                reply = "OK"
            elif cmd == "UNSUB" and len(parts) == 2:
                topics.get(parts[1], set()).discard(writer)
                if parts[1] in topics and not topics[parts[1]]:
                    del topics[parts[1]]
                reply = "OK"
            elif cmd == "PUB" and len(parts) == 3:
                subs = topics.get(parts[1], set())
                for w in subs:
                    w.write(("MSG %s %s\n" % (parts[1], parts[2])).encode())
                reply = "SENT %d" % len(subs)
            elif cmd == "HELP" and len(parts) == 1:
                reply = HELP
            elif cmd == "VERSION" and len(parts) == 1:
                reply = VERSION
            elif cmd == "QUIT" and len(parts) == 1:
                unsubscribe_all(writer)
                writer.write(b"BYE\n")
                await writer.drain()
                break
            else:
                reply = "ERR unknown command " + cmd
            writer.write(reply.encode() + b"\n")
            await writer.drain()
    except (ConnectionError, ValueError, asyncio.LimitOverrunError, asyncio.CancelledError):
        pass
    finally:
        unsubscribe_all(writer)
        writer.close()

async def main():
    srv = await asyncio.start_server(client, "127.0.0.1", int(sys.argv[1]), reuse_address=True)
    async with srv:
        await srv.serve_forever()

try:
    asyncio.run(main())
except KeyboardInterrupt:
    pass
