"""The yardstick: a FastStream pull consumer that does nothing, on the same nats-server as the
services. Run by the benchmark (`bench/benchmark/measurements.py`) in its own process; prints one
JSON line.

It reads `--count` messages from `--subject` (already published to a stream), fetching
`--batch-size` at a time as the services do, in one of two shapes:

- `--handler message` (the yardstick): FastStream's pull consumer as it comes, its handler called
  for each message (decoded, acknowledged by FastStream after the handler returns);
- `--handler batch` (the bus's ceiling): one handler call for the whole fetched batch, which only
  acknowledges each message: what the bus and FastStream allow a consumer that has no work.

Its log level is the services' in the benchmark (WARNING), so neither logs each message.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import time
from typing import Any

from faststream import AckPolicy
from faststream.nats import JStream, NatsBroker, NatsMessage, PullSub
from nats.aio.msg import Msg
from nats.js.api import ConsumerConfig, DeliverPolicy


async def consume(args: argparse.Namespace) -> dict[str, Any]:
    logging.basicConfig(level=logging.WARNING)
    broker = NatsBroker(args.nats_url, logger=logging.getLogger("bench.noop"))
    done = asyncio.Event()
    seen = 0
    started: float | None = None

    def count(messages: int) -> None:
        nonlocal seen, started
        if started is None:
            started = time.perf_counter()
        seen += messages
        if seen >= args.count:
            done.set()

    subscriber = broker.subscriber(
        args.subject,
        stream=JStream(name=args.stream, declare=False),
        durable=f"bench-noop-{args.handler}",
        pull_sub=PullSub(
            batch_size=args.batch_size,
            timeout=args.batch_timeout_s,
            batch=args.handler == "batch",
        ),
        ack_policy=AckPolicy.MANUAL if args.handler == "batch" else AckPolicy.REJECT_ON_ERROR,
        config=ConsumerConfig(
            durable_name=f"bench-noop-{args.handler}",
            deliver_policy=DeliverPolicy.ALL,
            max_ack_pending=max(1000, args.batch_size * 10),
        ),
    )

    if args.handler == "batch":

        @subscriber
        async def noop_batch(body: list[Any], msg: NatsMessage) -> None:
            batch: list[Msg] = msg.raw_message  # type: ignore[assignment]
            for raw in batch:
                await raw.ack()
            count(len(batch))

    else:

        @subscriber
        async def noop(body: Any) -> None:
            count(1)

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
    parser.add_argument("--handler", choices=("message", "batch"), default="message")
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--batch-timeout-s", type=float, default=0.05)
    parser.add_argument("--timeout-s", type=float, default=300)
    print(json.dumps(asyncio.run(consume(parser.parse_args()))))


if __name__ == "__main__":
    main()
