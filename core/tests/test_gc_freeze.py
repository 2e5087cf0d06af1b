"""core.gc_freeze: one full collection and `gc.freeze()` per process after its first requests, run
when the server closes that request's response, never on the way to the client."""

import threading

import pytest
from django.conf import settings

from core import gc_freeze
from core.gc_freeze import FreezeAfterWarmup


class RecordingGC:
    """Stands in for the `gc` module in core.gc_freeze: records, freezes nothing here."""

    def __init__(self):
        self.calls = []

    def collect(self):
        self.calls.append("collect")

    def freeze(self):
        self.calls.append("freeze")

    def get_freeze_count(self):
        return 150_000


@pytest.fixture
def recorded_gc(monkeypatch):
    recorded = RecordingGC()
    monkeypatch.setattr(gc_freeze, "gc", recorded)
    return recorded


class Response(list):
    """A WSGI body that records being closed (Django's responses have `close()`)."""

    closed = False

    def close(self):
        self.closed = True


def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return Response([b"ok"])


def serve(application):
    """What a WSGI server does with one request: call, send the body, close."""
    body = application({}, lambda status, headers: None)
    sent = b"".join(body)
    body.close()
    return sent, body


def test_collects_then_freezes_once_after_the_first_requests_when_the_response_is_closed(recorded_gc, caplog):
    application = FreezeAfterWarmup(app, after=3)
    for served in range(1, 8):
        body = application({}, lambda status, headers: None)
        assert recorded_gc.calls == ([] if served <= 3 else ["collect", "freeze"]), served
        assert b"".join(body) == b"ok"  # the body is the app's, whether or not it freezes after
        body.close()
        assert recorded_gc.calls == ([] if served < 3 else ["collect", "freeze"]), served

    assert [record.getMessage() for record in caplog.records if record.name == "novacart.server"] == [
        "gc: 150000 objects frozen after 3 requests"
    ]


def test_closes_the_apps_response_before_collecting(recorded_gc):
    _, body = serve(FreezeAfterWarmup(app, after=1))

    assert body.response.closed  # Django's request_finished runs in its response's close()
    assert recorded_gc.calls == ["collect", "freeze"]


def test_freezes_even_when_closing_the_response_fails(recorded_gc):
    def failing_app(environ, start_response):
        class Failing(list):
            def close(self):
                raise RuntimeError("close failed")

        return Failing([b"ok"])

    body = FreezeAfterWarmup(failing_app, after=1)({}, None)
    with pytest.raises(RuntimeError, match="close failed"):
        body.close()
    assert recorded_gc.calls == ["collect", "freeze"]


def test_a_response_without_close_is_fine(recorded_gc):
    body = FreezeAfterWarmup(lambda environ, start_response: [b"ok"], after=1)({}, None)
    assert list(body) == [b"ok"]
    body.close()
    assert recorded_gc.calls == ["collect", "freeze"]


def test_of_threads_past_the_count_together_one_freezes(recorded_gc):
    application = FreezeAfterWarmup(app, after=1)
    everyone_called, bodies = threading.Barrier(8), []

    def request():
        bodies.append(application({}, lambda status, headers: None))
        everyone_called.wait(timeout=10)  # all eight got their response before any is closed

    threads = [threading.Thread(target=request) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for body in bodies:
        body.close()

    assert recorded_gc.calls == ["collect", "freeze"]
    assert sum(isinstance(body, gc_freeze._ThenFreeze) for body in bodies) == 1


def test_off_at_0(recorded_gc):
    application = FreezeAfterWarmup(app, after=0)
    for _ in range(500):
        body, _ = serve(application)
    assert recorded_gc.calls == []


def test_a_negative_count_is_refused():
    with pytest.raises(ValueError, match="0 \\(off\\) or more"):
        FreezeAfterWarmup(app, after=-1)


def test_the_production_application_freezes_after_the_setting():
    from backend.wsgi import application

    assert settings.GC_FREEZE_AFTER == 200  # the default: on
    assert isinstance(application, FreezeAfterWarmup)
    assert application.after == settings.GC_FREEZE_AFTER
