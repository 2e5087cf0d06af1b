"""HTTP driver for the stateful steps (runs in bench/.venv, talks to 127.0.0.1 only).

    python bench/checkout.py login      --base URL --state state.json --out tokens.json
    python bench/checkout.py fill-carts --base URL --state state.json --tokens tokens.json
    python bench/checkout.py mix        --base URL --state state.json --tokens tokens.json --out mix.json

`mix` is scenario 5: every bench user (50) runs its own loop concurrently: add one hot product
(quantity 1-2) to the cart, then create an order from the cart. The hot products have a small
stock, so users collide on the same rows and the stock sells out during the run; a 409
`insufficient_stock` is the correct answer then (the user drops the product, or empties its cart
when the order lost the race) and is not an error. Each user stops when it has seen every hot
product sold out, at the deadline, or at its share of the request budget.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp

EXPECTED_CONFLICTS = {"insufficient_stock", "product_unavailable"}


def _check_loopback(base: str) -> None:
    host = urlsplit(base).hostname
    if host not in {"127.0.0.1", "localhost", "::1"}:
        raise SystemExit(f"bench: refusing to send load to {host}: loopback only")


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile of already sorted values."""
    if not values:
        return 0.0
    rank = max(1, int(-(-pct * len(values) // 100)))
    return values[min(rank, len(values)) - 1]


def summarize(latencies_ms: list[float], elapsed: float) -> dict:
    values = sorted(latencies_ms)
    return {
        "requests": len(values),
        "rps": round(len(values) / elapsed, 2) if elapsed else 0.0,
        "p50_ms": round(percentile(values, 50), 2),
        "p95_ms": round(percentile(values, 95), 2),
        "p99_ms": round(percentile(values, 99), 2),
        "max_ms": round(values[-1], 2) if values else 0.0,
    }


def _session(concurrency: int) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=concurrency, force_close=False),
        timeout=aiohttp.ClientTimeout(total=60),
    )


async def _login(args: argparse.Namespace) -> None:
    state = json.loads(Path(args.state).read_text())
    gate = asyncio.Semaphore(4)  # password hashing is CPU-bound: 2 workers, a little queue
    async with _session(8) as session:

        async def one(user: dict) -> str:
            async with (
                gate,
                session.post(
                    f"{args.base}/api/token/", json={"email": user["email"], "password": state["password"]}
                ) as response,
            ):
                body = await response.json(content_type=None)
                if response.status != 200:
                    raise SystemExit(f"bench: login of {user['email']} failed: {response.status} {body}")
                return body["access"]

        tokens = await asyncio.gather(*(one(user) for user in state["users"]))
    Path(args.out).write_text(json.dumps(tokens))
    Path(args.out).with_suffix(".txt").write_text("\n".join(tokens) + "\n")


async def _fill_carts(args: argparse.Namespace) -> None:
    state = json.loads(Path(args.state).read_text())
    tokens = json.loads(Path(args.tokens).read_text())
    rng = random.Random(7)
    async with _session(8) as session:
        gate = asyncio.Semaphore(8)

        async def one(token: str) -> None:
            headers = {"Authorization": f"Bearer {token}"}
            for product_id in rng.sample(state["cart_product_ids"], args.lines):
                async with (
                    gate,
                    session.post(
                        f"{args.base}/api/cart/add/",
                        json={"product_id": product_id, "quantity": 1},
                        headers=headers,
                    ) as response,
                ):
                    if response.status != 201:
                        text = await response.text()
                        raise SystemExit(f"bench: cart add failed: {response.status} {text[:300]}")

        await asyncio.gather(*(one(token) for token in tokens))


async def _mix(args: argparse.Namespace) -> dict:
    state = json.loads(Path(args.state).read_text())
    tokens = json.loads(Path(args.tokens).read_text())
    hot_ids = [int(pk) for pk in state["hot"]]
    users = state["users"]
    per_user_budget = max(1, args.budget // len(users))
    samples: dict[str, list[float]] = {"add": [], "order": [], "clear": []}
    statuses: dict[str, dict[str, int]] = {"add": {}, "order": {}, "clear": {}}
    counters = {"orders": 0, "units_ordered": 0, "unexpected": 0, "transport_errors": 0, "iterations": 0}
    unexpected_examples: list[str] = []
    last_order_at = [0.0]

    async with _session(len(users) + 4) as session:
        start = time.perf_counter()
        deadline = start + args.duration

        async def call(kind: str, method: str, path: str, headers: dict, payload=None):
            began = time.perf_counter()
            try:
                async with session.request(method, f"{args.base}{path}", json=payload, headers=headers) as r:
                    body = await r.json(content_type=None)
                    status = r.status
            except (TimeoutError, aiohttp.ClientError, json.JSONDecodeError) as exc:
                counters["transport_errors"] += 1
                if len(unexpected_examples) < 10:
                    unexpected_examples.append(f"{kind}: {type(exc).__name__}: {exc}")
                return None, None
            samples[kind].append((time.perf_counter() - began) * 1000)
            statuses[kind][str(status)] = statuses[kind].get(str(status), 0) + 1
            return status, body

        def unexpected(kind: str, status: int, body) -> None:
            counters["unexpected"] += 1
            if len(unexpected_examples) < 10:
                unexpected_examples.append(f"{kind}: {status} {json.dumps(body)[:300]}")

        async def shopper(index: int, user: dict, token: str) -> None:
            rng = random.Random(1000 + index)
            headers = {"Authorization": f"Bearer {token}"}
            pool = list(hot_ids)
            for _ in range(per_user_budget):
                if not pool or time.perf_counter() >= deadline:
                    return
                counters["iterations"] += 1
                product_id = rng.choice(pool)
                quantity = rng.randint(1, 2)
                status, body = await call(
                    "add", "POST", "/api/cart/add/", headers, {"product_id": product_id, "quantity": quantity}
                )
                if status is None:
                    continue
                if status == 409 and body.get("code") in EXPECTED_CONFLICTS:
                    if body.get("code") == "product_unavailable" or not body.get("available"):
                        pool.remove(product_id)
                    continue
                if status != 201:
                    unexpected("add", status, body)
                    continue
                order_headers = {**headers, "Idempotency-Key": uuid.uuid4().hex}
                status, body = await call(
                    "order",
                    "POST",
                    "/api/orders/create/",
                    order_headers,
                    {"shipping_address_id": user["address_id"], "payment_method": args.payment},
                )
                if status == 201:
                    counters["orders"] += 1
                    counters["units_ordered"] += quantity
                    last_order_at[0] = time.perf_counter()
                    continue
                if status is not None and not (status == 409 and body.get("code") in EXPECTED_CONFLICTS):
                    unexpected("order", status, body)
                # The order lost the race (or failed): empty the cart so the next round starts clean.
                status, body = await call("clear", "DELETE", "/api/cart/clear/", headers)
                if status is not None and status != 200:
                    unexpected("clear", status, body)

        await asyncio.gather(*(shopper(i, u, t) for i, (u, t) in enumerate(zip(users, tokens, strict=True))))
        elapsed = time.perf_counter() - start

    all_samples = samples["add"] + samples["order"] + samples["clear"]
    five_xx = sum(n for kind in statuses.values() for code, n in kind.items() if code.startswith("5"))
    selling = (last_order_at[0] - start) if last_order_at[0] else elapsed
    return {
        "users": len(users),
        "payment_method": args.payment,
        "duration_limit_s": args.duration,
        "budget_iterations": per_user_budget * len(users),
        "elapsed_s": round(elapsed, 2),
        "selling_s": round(selling, 2),
        "iterations": counters["iterations"],
        "orders": counters["orders"],
        "units_ordered": counters["units_ordered"],
        "orders_per_s": round(counters["orders"] / selling, 2) if selling else 0.0,
        "all_requests": summarize(all_samples, elapsed),
        "add": summarize(samples["add"], elapsed),
        "order": summarize(samples["order"], elapsed),
        "clear": summarize(samples["clear"], elapsed),
        "statuses": statuses,
        "five_xx": five_xx,
        "unexpected": counters["unexpected"],
        "transport_errors": counters["transport_errors"],
        "unexpected_examples": unexpected_examples,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("login", "fill-carts", "mix"):
        p = sub.add_parser(name)
        p.add_argument("--base", required=True)
        p.add_argument("--state", required=True)
        if name != "login":
            p.add_argument("--tokens", required=True)
        if name != "fill-carts":
            p.add_argument("--out", required=True)
    sub.choices["fill-carts"].add_argument("--lines", type=int, default=3)
    sub.choices["mix"].add_argument("--duration", type=float, default=20.0)
    sub.choices["mix"].add_argument("--budget", type=int, default=5000, help="add+order rounds, all users")
    sub.choices["mix"].add_argument("--payment", choices=["card", "cod"], default="card")
    args = parser.parse_args()
    _check_loopback(args.base)
    if args.command == "login":
        asyncio.run(_login(args))
    elif args.command == "fill-carts":
        asyncio.run(_fill_carts(args))
    else:
        result = asyncio.run(_mix(args))
        Path(args.out).write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
