"""Runs a server: the control plane and Console on one port, the public gateway on another,
both uvicorn servers in one event loop sharing one Platform."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
from collections.abc import Callable, Generator

import uvicorn
import uvloop

from rocketstack.api.app import create_app
from rocketstack.api.invoke import InvokeRoute
from rocketstack.gateway.app import create_gateway
from rocketstack.platform import Platform
from rocketstack.settings import Settings

log = logging.getLogger(__name__)


class _Server(uvicorn.Server):
    """A uvicorn server that leaves signal handling to `serve`, which stops both servers."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


def _config(app: object, host: str, port: int) -> uvicorn.Config:
    return uvicorn.Config(
        app,  # type: ignore[arg-type]
        host=host,
        port=port,
        lifespan="off",
        access_log=False,
        log_config=None,
        server_header=False,
        loop="uvloop",
        http="httptools",
        timeout_keep_alive=30,
    )


def serve(settings: Settings, on_ready: Callable[[Platform], None] | None = None) -> None:
    """Run a server on uvloop until SIGINT or SIGTERM. uvicorn's `loop` option applies only
    when uvicorn creates the loop itself, and the standard loop's socket transports were a
    large share of a profile of the invoke path."""
    uvloop.run(run(settings, on_ready))


async def run(settings: Settings, on_ready: Callable[[Platform], None] | None = None) -> None:
    platform = Platform(settings)
    platform.initialise()
    await platform.start()
    # Everything allocated so far lives as long as the server: moving it out of the
    # collector's generations keeps full collections short under load.
    gc.freeze()
    app = create_app(platform)
    api = _Server(
        _config(InvokeRoute(app, platform, app.state.authenticator), settings.host, settings.port)
    )
    public = _Server(_config(create_gateway(platform), settings.host, settings.public_port))
    loop = asyncio.get_running_loop()

    def stop() -> None:
        platform.closing.set()
        api.should_exit = True
        public.should_exit = True
        # Open MCP streams would otherwise keep the control plane from stopping.
        app.state.mcp.close()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop)
    tasks = [asyncio.create_task(api.serve()), asyncio.create_task(public.serve())]
    try:
        while not (api.started and public.started):
            if any(task.done() for task in tasks):
                break
            await asyncio.sleep(0.01)
        if api.started and public.started and on_ready is not None:
            on_ready(platform)
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        stop()
        await asyncio.gather(*tasks, return_exceptions=True)
        for task in done:
            if task.exception() is not None:
                raise task.exception()  # type: ignore[misc]
        if not (api.started and public.started):
            raise OSError(
                f"could not listen on {settings.host} ports {settings.port} and "
                f"{settings.public_port}; free them or choose others with --port/--public-port"
            )
    finally:
        await platform.stop()
