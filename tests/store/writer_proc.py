"""A store client for the kill -9 durability test: writes a burst, acknowledges each
write on stdout (one key per line, flushed) only after the store returned it.

Usage: python writer_proc.py URL COUNT CONCURRENCY
"""

from __future__ import annotations

import asyncio
import sys

from kctl.store import Key, Store


async def main(url: str, count: int, concurrency: int) -> None:
    store = await Store.open(url)
    print("ready", flush=True)
    next_index = iter(range(count))

    async def worker() -> None:
        for i in next_index:
            name = f"k{i}"
            obj = {"metadata": {"name": name, "namespace": "burst"}, "data": {"i": str(i)}}
            await store.create(Key("configmaps", "burst", name), obj)
            sys.stdout.write(name + "\n")
            sys.stdout.flush()

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    await store.close()
    print("done", flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))
