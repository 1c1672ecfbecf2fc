"""BUGGY (blind 19): an asyncio echo that blocks its event loop with time.sleep() per chunk (a "rate
limit"): every client is answered, one message at a time, 0.2 s each; in a crowd of 50 a client
waits ~10 s for its reply (concurrency::simultaneous_clients)."""
import sys, time, asyncio

async def handle(r, w):
    try:
        while True:
            d = await r.read(65536)
            if not d:
                break
            time.sleep(0.2)      # should be await asyncio.sleep
            w.write(d)
            await w.drain()
    except ConnectionError:
        pass
    finally:
        w.close()

async def main():
    s = await asyncio.start_server(handle, "127.0.0.1", int(sys.argv[1]))
    async with s:
        await s.serve_forever()

asyncio.run(main())
