import logging

import uvicorn

from .app import build_app
from .config import ConsoleSettings


def run() -> None:
    settings = ConsoleSettings()
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(name)s %(message)s")
    uvicorn.run(build_app(settings), host=settings.http_host, port=settings.http_port)
