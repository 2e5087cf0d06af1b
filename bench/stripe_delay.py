"""A loopback proxy that adds a fixed delay in front of localstripe (bench only).

    python bench/stripe_delay.py LISTEN_PORT UPSTREAM_PORT DELAY_MS

localstripe answers in a few milliseconds; the real Stripe API takes a few hundred. The
"what-if" checkout run points the server's STRIPE_API_BASE here to see how the checkout
behaves when the PaymentIntent call is as slow as it is in production.
"""

import asyncio
import sys

from aiohttp import ClientSession, web

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host", "content-encoding"}


def main() -> None:
    listen_port, upstream_port, delay_ms = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
    upstream = f"http://127.0.0.1:{upstream_port}"

    async def forward(request: web.Request) -> web.Response:
        await asyncio.sleep(delay_ms / 1000)
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
        async with request.app["session"].request(
            request.method, f"{upstream}{request.rel_url}", data=body, headers=headers
        ) as answer:
            payload = await answer.read()
            out = {k: v for k, v in answer.headers.items() if k.lower() not in HOP_BY_HOP}
            return web.Response(status=answer.status, body=payload, headers=out)

    async def start(app: web.Application) -> None:
        app["session"] = ClientSession()

    async def stop(app: web.Application) -> None:
        await app["session"].close()

    app = web.Application()
    app.on_startup.append(start)
    app.on_cleanup.append(stop)
    app.router.add_route("*", "/{tail:.*}", forward)
    web.run_app(app, host="127.0.0.1", port=listen_port, print=None, access_log=None)


if __name__ == "__main__":
    main()
