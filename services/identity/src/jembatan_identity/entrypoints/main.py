import logging

import uvicorn

from ..bootstrap import build_app
from ..config import IdentitySettings


def run() -> None:
    settings = IdentitySettings()
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(name)s %(message)s")
    uvicorn.run(build_app(settings), host=settings.http_host, port=settings.http_port)
