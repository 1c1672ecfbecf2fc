"""GOOD: asyncio echo server listening on IPv6 loopback only (::1)."""
import asyncio, sys

async def handle(reader, writer):
    while data := await reader.read(65536):
        writer.write(data)
        await writer.drain()
    writer.close()

async def main():
    server = await asyncio.start_server(handle, "::1", int(sys.argv[1]))
    async with server:
        await server.serve_forever()

asyncio.run(main())
