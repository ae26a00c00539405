import logging

import uvicorn

from ..bootstrap import build_app
from ..config import DashboardSettings


def run() -> None:
    settings = DashboardSettings()
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(name)s %(message)s")
    uvicorn.run(build_app(settings), host=settings.http_host, port=settings.http_port)
