"""core.thread_connections: a thread's database connections are closed when the thread ends, by
reference counting (so also for objects frozen out of the garbage collector)."""

import gc
import threading

import pytest

from core import thread_connections
from core.thread_connections import CloseConnectionsOnThreadExit


class FakeConnection:
    def __init__(self, fail=False):
        self.closed_by = None
        self.fail = fail

    def close(self):
        if self.fail:
            raise OSError("socket gone")
        self.closed_by = threading.get_ident()  # the ending thread's, while its state is cleared


class FakeWrapper:
    def __init__(self, connection):
        self.connection = connection


class FakeConnections:
    """`django.db.connections` for one thread at a time: each thread gets its own wrappers."""

    def __init__(self, aliases=("default",), fail=False):
        self.aliases = aliases
        self.fail = fail
        self.local = threading.local()
        self.made = []

    def __iter__(self):
        return iter(self.aliases)

    def __getitem__(self, alias):
        wrappers = self.local.__dict__.setdefault("wrappers", {})
        if alias not in wrappers:
            wrappers[alias] = FakeWrapper(FakeConnection(fail=self.fail))
            self.made.append(wrappers[alias])
        return wrappers[alias]


def app(environ, start_response):
    return [b"ok"]


def serve_in_a_thread(application, requests=3) -> int:
    """Runs `requests` requests in a new thread, waits for it to end; returns its id."""

    def run():
        for _ in range(requests):
            assert application({}, None) == [b"ok"]

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    return thread.ident


@pytest.fixture(autouse=True)
def _no_sentinel_left_on_this_thread():
    yield
    thread_connections._local.__dict__.pop("sentinel", None)  # the test thread's, with fakes


@pytest.fixture
def fake_connections(monkeypatch):
    fake = FakeConnections(aliases=("default", "replica"))
    monkeypatch.setattr(thread_connections, "connections", fake)
    return fake


def test_an_ended_threads_connections_are_closed(fake_connections):
    gc.disable()  # reference counting alone does it: no collection may run in between
    try:
        ended = serve_in_a_thread(CloseConnectionsOnThreadExit(app))
    finally:
        gc.enable()

    assert [wrapper.connection.closed_by for wrapper in fake_connections.made] == [ended, ended]


def test_each_thread_closes_its_own_and_a_live_thread_keeps_its_own(fake_connections):
    application = CloseConnectionsOnThreadExit(app)
    first = serve_in_a_thread(application)
    second = serve_in_a_thread(application)
    assert [w.connection.closed_by for w in fake_connections.made] == [first, first, second, second]

    application({}, None)  # this thread is alive: its connections stay open
    assert [w.connection.closed_by for w in fake_connections.made[4:]] == [None, None]


def test_a_thread_that_never_connected_and_a_failing_close_are_fine(monkeypatch):
    failing = FakeConnections(fail=True)
    monkeypatch.setattr(thread_connections, "connections", failing)
    serve_in_a_thread(CloseConnectionsOnThreadExit(app))  # close() raised inside: swallowed

    never = FakeConnections()
    monkeypatch.setattr(thread_connections, "connections", never)
    wrapper = never["default"]
    wrapper.connection = None  # the thread never opened one
    thread_connections._ClosesOnExit([wrapper]).__del__()


def test_the_production_application_closes_threads_connections():
    from backend.wsgi import application

    assert isinstance(application.app, CloseConnectionsOnThreadExit)
