"""Failed sign-ins are limited per account and per address (memory on dev, Redis on prod);
production session cookies are secure."""

from __future__ import annotations

import pytest
from redis import Redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from sqlalchemy import select

from app.db.models import AuditEntry
from app.services.login_throttle import (
    MAX_PER_ACCOUNT,
    MAX_PER_ADDRESS,
    WINDOW,
    LoginThrottle,
    MemoryCounter,
)
from app.web.factory import create_app
from tests.console_support import PASSWORD, add_counties_with_places, add_user, log_in

EMAIL = "officer@makueni.example.org"


@pytest.fixture(autouse=True)
def counties(runtime):
    add_counties_with_places(runtime)


def fail(client, email: str = EMAIL, times: int = 1) -> list[int]:
    return [log_in(client, email, password="wrong password!").status_code for _ in range(times)]


def test_an_account_locks_after_five_failures_even_for_the_right_password(client, runtime):
    add_user(runtime, "officer")
    assert fail(client, times=MAX_PER_ACCOUNT) == [401] * MAX_PER_ACCOUNT
    locked = log_in(client, EMAIL)
    assert locked.status_code == 429
    assert 0 < int(locked.headers["Retry-After"]) <= WINDOW
    assert "Too many failed sign-ins. Wait 15 minutes" in locked.get_data(as_text=True)
    assert client.get("/console/").status_code == 302  # still signed out
    with runtime.sessions() as db:
        [entry] = db.scalars(select(AuditEntry)).all()
        assert (entry.action, entry.entity) == ("login.locked", "user")
        assert entry.organization_id is not None and entry.detail["address"] == "127.0.0.1"


def test_the_lock_is_per_account(client, runtime):
    add_user(runtime, "officer")
    other = add_user(runtime, "agent")
    fail(client, times=MAX_PER_ACCOUNT)
    assert log_in(client, EMAIL).status_code == 429
    assert log_in(client, " Officer@Makueni.example.org").status_code == 429  # same account
    assert log_in(client, other).status_code == 302


def test_a_success_resets_the_account_count(client, runtime):
    add_user(runtime, "officer")
    fail(client, times=MAX_PER_ACCOUNT - 1)
    assert log_in(client, EMAIL).status_code == 302
    client.get("/console/")  # signed in; sign out by starting a new client session
    client.delete_cookie("session")
    assert fail(client, times=MAX_PER_ACCOUNT - 1) == [401] * (MAX_PER_ACCOUNT - 1)
    assert log_in(client, EMAIL).status_code == 302


def test_an_address_locks_after_twenty_failures_across_accounts(app, runtime):
    add_user(runtime, "officer")
    guesser = app.test_client()
    guesser.environ_base["REMOTE_ADDR"] = "198.51.100.7"
    statuses = [fail(guesser, f"person{n}@example.org")[0] for n in range(MAX_PER_ADDRESS)]
    assert statuses == [401] * MAX_PER_ADDRESS
    refused = log_in(guesser, EMAIL)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    # the officer, from another address, is not locked out by the guesser
    assert log_in(app.test_client(), EMAIL).status_code == 302


def test_memory_counter_forgets_after_the_window():
    now = [1000.0]
    throttle = LoginThrottle(MemoryCounter(clock=lambda: now[0]), window=60, max_per_account=2)
    assert throttle.failed("a@b.org", "1.2.3.4") is None
    lock = throttle.failed("a@b.org", "1.2.3.4")
    assert lock is not None and (lock.scope, lock.retry_after) == ("account", 60)
    now[0] += 30
    assert throttle.lock_of("A@B.org ", "1.2.3.4").retry_after == 30
    now[0] += 31
    assert throttle.lock_of("a@b.org", "1.2.3.4") is None


def test_sign_ins_are_still_limited_while_redis_does_not_answer():
    # Nothing listens on port 1: every Redis call fails, as when Redis is down (at once: no
    # retries, which only make the test slow).
    dead = Redis(port=1, socket_connect_timeout=0.2, retry=Retry(NoBackoff(), 0))
    throttle = LoginThrottle.for_redis(dead)
    assert throttle.lock_of("a@b.org", "1.2.3.4") is None  # an answer, not an error
    locks = [throttle.failed("a@b.org", "1.2.3.4") for _ in range(MAX_PER_ACCOUNT)]
    assert locks[:-1] == [None] * (MAX_PER_ACCOUNT - 1) and locks[-1].scope == "account"
    assert throttle.lock_of("a@b.org", "1.2.3.4") is not None
    throttle.succeeded("a@b.org")
    assert throttle.lock_of("a@b.org", "1.2.3.4") is None


def test_production_session_cookie_is_secure(runtime):
    settings = runtime.settings.with_overrides(env="production", secret_key="s" * 32)
    app = create_app(settings=settings, runtime=runtime)
    app.config.update(TESTING=True, WTF_CSRF_ENABLED=False)
    add_user(runtime, "officer")
    client = app.test_client()
    response = client.post("/console/login", data={"email": EMAIL, "password": PASSWORD},
                           base_url="https://localhost")
    assert response.status_code == 302
    cookie = response.headers["Set-Cookie"]
    for flag in ("Secure", "HttpOnly", "SameSite=Lax", "Expires="):
        assert flag in cookie, cookie
    assert app.config["PERMANENT_SESSION_LIFETIME"].total_seconds() == 12 * 3600


def test_behind_a_trusted_proxy_the_client_address_is_counted(runtime):
    app = create_app(settings=runtime.settings.with_overrides(trusted_proxies=1), runtime=runtime)
    app.config.update(TESTING=True)
    add_user(runtime, "officer")
    client = app.test_client()
    client.environ_base["HTTP_X_FORWARDED_FOR"] = "198.51.100.8"
    fail(client, EMAIL, times=MAX_PER_ACCOUNT)
    with runtime.sessions() as db:
        assert db.scalar(select(AuditEntry)).detail["address"] == "198.51.100.8"
