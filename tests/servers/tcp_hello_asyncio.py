"""GOOD: asyncio tcp-hello in line mode, with readline's default 64 KiB line limit."""
import asyncio
import sys


async def handle(reader, writer):
    try:
        writer.write(b"Welcome!\n")
        await writer.drain()
        while line := await reader.readline():
            name = line.rstrip(b"\n").decode("utf-8")
            if name == "exit":
                break
            writer.write(f"Hello, {name}!\n".encode("utf-8"))
            await writer.drain()
    except (ConnectionResetError, asyncio.CancelledError, UnicodeDecodeError):
        pass
    finally:
        writer.close()


async def main(port):
    server = await asyncio.start_server(handle, "127.0.0.1", port)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main(int(sys.argv[1])))
    except KeyboardInterrupt:
        pass
