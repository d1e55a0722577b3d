"""The baseline for bench_ack.py: a Bolt app whose `reaction_added` listener does nothing,
served like the bot's `serve` (Starlette under uvicorn, Bolt's dispatch in the threadpool).

Usage: SLACK_SIGNING_SECRET=... SLACK_BOT_TOKEN=xoxb-... SLACK_API_URL=http://.../api/ \\
       python benchmarks/minimal_bolt_app.py --port 3001
"""

from __future__ import annotations

import argparse
import os

import uvicorn
from slack_bolt import App
from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response
from slack_sdk import WebClient
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


def build_bolt() -> App:
    app = App(
        signing_secret=os.environ["SLACK_SIGNING_SECRET"],
        token_verification_enabled=False,
        process_before_response=True,
        client=WebClient(
            token=os.environ.get("SLACK_BOT_TOKEN"),
            base_url=os.environ.get("SLACK_API_URL", "https://slack.com/api/"),
        ),
    )

    @app.event("reaction_added")
    def on_reaction() -> None:
        pass

    return app


def build_web(bolt: App) -> Starlette:
    async def slack_events(request: Request) -> Response:
        body = await request.body()
        bolt_resp = await run_in_threadpool(bolt.dispatch, to_bolt_request(request, body))
        return to_starlette_response(bolt_resp)

    async def readyz(_: Request) -> Response:
        return JSONResponse({"ready": True, "reason": "ready"})

    return Starlette(
        routes=[
            Route("/slack/events", slack_events, methods=["POST"]),
            Route("/readyz", readyz, methods=["GET"]),
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=3001)
    args = parser.parse_args()
    uvicorn.run(
        build_web(build_bolt()),
        host=args.host,
        port=args.port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=10,
    )


if __name__ == "__main__":
    main()
