"""The yardstick: a FastStream pull consumer that does nothing but ack, in batches, on the same
nats-server as the services. Run by `bench/run.py` in its own process; prints one JSON line.

It reads `--count` messages from `--subject` (already published to a stream) with the services'
batch settings and acks each message, so its rate is what the bus and FastStream allow a consumer
that has no work to do.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from typing import Any

from faststream import AckPolicy
from faststream.nats import JStream, NatsBroker, NatsMessage, PullSub
from nats.aio.msg import Msg
from nats.js.api import ConsumerConfig, DeliverPolicy


async def consume(args: argparse.Namespace) -> dict[str, Any]:
    broker = NatsBroker(args.nats_url)
    done = asyncio.Event()
    seen = 0
    started: float | None = None

    @broker.subscriber(
        args.subject,
        stream=JStream(name=args.stream, declare=False),
        durable="bench-noop",
        pull_sub=PullSub(batch_size=args.batch_size, timeout=args.batch_timeout_s, batch=True),
        ack_policy=AckPolicy.MANUAL,
        config=ConsumerConfig(
            durable_name="bench-noop",
            deliver_policy=DeliverPolicy.ALL,
            max_ack_pending=max(1000, args.batch_size * 10),
        ),
    )
    async def noop(body: list[Any], msg: NatsMessage) -> None:
        nonlocal seen, started
        if started is None:
            started = time.perf_counter()
        batch: list[Msg] = msg.raw_message  # type: ignore[assignment]
        for raw in batch:
            await raw.ack()
        seen += len(batch)
        if seen >= args.count:
            done.set()

    async with broker:
        await broker.start()
        await asyncio.wait_for(done.wait(), timeout=args.timeout_s)
        elapsed = time.perf_counter() - (started or time.perf_counter())
    return {"messages": seen, "seconds": elapsed, "per_second": seen / elapsed if elapsed else 0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--nats-url", required=True)
    parser.add_argument("--stream", required=True)
    parser.add_argument("--subject", required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--batch-timeout-s", type=float, default=0.05)
    parser.add_argument("--timeout-s", type=float, default=300)
    print(json.dumps(asyncio.run(consume(parser.parse_args()))))


if __name__ == "__main__":
    main()
