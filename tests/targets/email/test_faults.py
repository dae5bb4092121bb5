"""Failures a real server produces, and what the policy does with them: retried,
queued, refused for good, reported as partial, never delivered twice."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from custom_components.notify_bridge.pipeline.dispatch import Dispatcher
from custom_components.notify_bridge.pipeline.models import (
    DeliveryContext,
    DeliveryError,
    DispatchStatus,
    DispatchSummary,
    Notification,
)
from custom_components.notify_bridge.pipeline.policy import DeliveryPolicy, RetryPolicy
from custom_components.notify_bridge.targets.email import (
    EmailAuthError,
    EmailDestination,
    Recipients,
    SmtpSender,
)
from tests.fakes.smtp_server import FakeSmtpServer

from .conftest import RECIPIENT, destination, settings_for


def fast_dispatcher() -> Dispatcher:
    """The real policy (retries in milliseconds) behind the real dispatcher."""
    policy = DeliveryPolicy(
        clock=lambda: datetime.now(UTC),
        retry=RetryPolicy(base_delay=0.001, max_delay=0.004, budget=5.0),
    )
    return Dispatcher(policy=policy)


async def dispatch(
    dispatcher: Dispatcher, dest: EmailDestination, text: str
) -> DispatchSummary:
    """Deliver one notification through policy and dispatcher; return the summary."""
    return await dispatcher.async_dispatch(
        [(dest, Notification(message=text))], context=DeliveryContext(route_id="r")
    )


async def test_refused_login_asks_for_reauth_once_and_stops_trying(
    server: FakeSmtpServer, make_sender: Callable[..., SmtpSender]
) -> None:
    """535: a permanent auth error, the reauth callback once, and no more logins
    with the refused password (a server would lock the account)."""
    calls: list[str] = []
    sender = make_sender(
        settings_for(server, password="wrong"),
        on_auth_failed=lambda: calls.append("reauth"),
    )
    dest = destination(sender)

    with pytest.raises(EmailAuthError) as caught:
        await dest.async_deliver(Notification(message="x"))
    assert caught.value.permanent and "535" in str(caught.value)
    attempts = len(server.auth_attempts)
    assert attempts >= 1 and not any(ok for _, ok in server.auth_attempts)

    summary = await dispatch(fast_dispatcher(), dest, "again")

    assert summary.status is DispatchStatus.FAIL
    assert summary.results[0].attempts == 1  # permanent: not retried
    assert len(server.auth_attempts) == attempts
    assert calls == ["reauth"]
    assert server.received == []


@pytest.mark.parametrize(
    ("fault", "reply"),
    [
        ("mail", "451 4.3.0 try again later"),
        ("mail", "421 4.3.2 going down"),
        ("data_reply", "451 4.7.1 greylisted"),
    ],
)
async def test_temporary_refusal_is_retried_and_delivered_once(
    server: FakeSmtpServer,
    make_sender: Callable[..., SmtpSender],
    fault: str,
    reply: str,
) -> None:
    """4xx (at MAIL, or after the body) is transient: the policy retries, the
    message arrives exactly once."""
    getattr(server.script, fault).append(reply)

    summary = await dispatch(fast_dispatcher(), destination(make_sender()), "hello")

    assert summary.status is DispatchStatus.OK
    assert summary.results[0].attempts == 2
    assert [m["Subject"] for m in server.messages()] == ["hello"]


async def test_transient_failure_that_persists_goes_to_the_outbox(
    server: FakeSmtpServer, make_sender: Callable[..., SmtpSender]
) -> None:
    """Still 4xx after the in-line retries: queued (nothing lost), then delivered
    when the outbox is flushed."""
    server.script.mail.extend(["451 4.3.0 later"] * 3)
    dispatcher = fast_dispatcher()
    dest = destination(make_sender())

    summary = await dispatch(dispatcher, dest, "kept")

    assert summary.results[0].queued and not summary.lost
    assert server.received == []
    assert dispatcher.policy is not None
    sent = await dispatcher.policy.async_flush(lambda _id: dest, force=True)
    assert sent == 1
    assert [m["Subject"] for m in server.messages()] == ["kept"]


async def test_permanent_refusal_is_not_retried(
    server: FakeSmtpServer, make_sender: Callable[..., SmtpSender]
) -> None:
    """5xx after the body: permanent, one attempt."""
    server.script.data_reply.append("554 5.6.0 message content rejected")

    summary = await dispatch(fast_dispatcher(), destination(make_sender()), "spam?")

    assert summary.status is DispatchStatus.FAIL
    result = summary.results[0]
    assert (result.attempts, result.queued) == (1, False)
    assert "554" in result.errors[0]


async def test_one_refused_recipient_is_named_and_the_others_get_it(
    server: FakeSmtpServer, make_sender: Callable[..., SmtpSender]
) -> None:
    """550 for one of two: delivered to the other (not resent), not `success`, and
    the summary names the refused address."""
    server.script.refuse_rcpt["ghost@example.org"] = "550 5.1.1 no such user"
    dest = destination(
        make_sender(), recipients=Recipients(to=(RECIPIENT, "ghost@example.org"))
    )

    summary = await dispatch(fast_dispatcher(), dest, "hi both")

    result = summary.results[0]
    assert (result.success, result.messages_sent, result.attempts) == (False, 1, 1)
    assert "ghost@example.org" in result.errors[0] and "550" in result.errors[0]
    assert [r.rcpt_tos for r in server.received] == [(RECIPIENT,)]
    # The To header still lists both: it was written before the envelope was sent.
    assert "ghost@example.org" in server.messages()[0]["To"]


async def test_every_recipient_refused(
    server: FakeSmtpServer, make_sender: Callable[..., SmtpSender]
) -> None:
    """All refused with 5xx: permanent; with a 4xx among them: transient."""
    server.script.refuse_rcpt[RECIPIENT] = "550 5.1.1 no such user"
    with pytest.raises(DeliveryError) as caught:
        await destination(make_sender()).async_deliver(Notification(message="x"))
    assert caught.value.permanent and RECIPIENT in str(caught.value)

    server.script.refuse_rcpt[RECIPIENT] = "452 4.2.2 mailbox full"
    with pytest.raises(DeliveryError) as caught:
        await destination(make_sender()).async_deliver(Notification(message="x"))
    assert not caught.value.permanent


async def test_drop_after_the_body_is_unconfirmed_and_never_resent(
    server: FakeSmtpServer, make_sender: Callable[..., SmtpSender]
) -> None:
    """The server stored the message, then the connection died before its 250: the
    outcome is unknown, so it is reported unconfirmed and not retried."""
    server.script.drop_after_data = 1
    dispatcher = fast_dispatcher()
    dest = destination(make_sender())

    summary = await dispatch(dispatcher, dest, "only once")

    result = summary.results[0]
    assert not result.success and not result.queued
    assert result.attempts == 1
    assert result.errors[0].startswith("unconfirmed")
    await asyncio.sleep(0.05)
    assert [m["Subject"] for m in server.messages()] == ["only once"]
    # The sender recovers: the next message goes out on a new connection.
    await dispatch(dispatcher, dest, "next")
    assert [m["Subject"] for m in server.messages()] == ["only once", "next"]


async def test_drop_before_the_body_is_retried_once_delivered(
    server: FakeSmtpServer, make_sender: Callable[..., SmtpSender]
) -> None:
    """Dropped at DATA, before 354: nothing was accepted, so retrying is safe."""
    server.script.drop_at_data_command = 1

    summary = await dispatch(fast_dispatcher(), destination(make_sender()), "safe")

    assert summary.status is DispatchStatus.OK
    assert [m["Subject"] for m in server.messages()] == ["safe"]


async def test_consecutive_messages_share_one_connection_closed_when_idle(
    server: FakeSmtpServer, make_sender: Callable[..., SmtpSender]
) -> None:
    """Three messages, one session; idle, it is closed (QUIT); the next message
    opens a new one."""
    sender = make_sender(idle_timeout=0.1)
    dest = destination(sender)
    for index in range(3):
        await dest.async_deliver(Notification(message=f"m{index}"))
    assert server.sessions_started == 1
    assert sender.stats.connections_opened == 1
    assert len(server.open_sessions) == 1

    await asyncio.sleep(0.3)

    assert server.open_sessions == set()
    assert sender.idle_sessions == 0
    await dest.async_deliver(Notification(message="after idle"))
    assert server.sessions_started == 2
    assert len(server.received) == 4


async def test_connection_dropped_by_the_server_is_reopened_transparently(
    server: FakeSmtpServer, make_sender: Callable[..., SmtpSender]
) -> None:
    """The server cut the idle session (restart, its own timeout): the next message
    still goes out, once, on a fresh session."""
    sender = make_sender()
    dest = destination(sender)
    await dest.async_deliver(Notification(message="first"))
    server.drop_all()
    await asyncio.sleep(0.05)

    result = await dest.async_deliver(Notification(message="second"))

    assert result.success
    assert [m["Subject"] for m in server.messages()] == ["first", "second"]
    assert sender.stats.connections_opened == 2


async def test_server_closing_a_reused_session_with_421_is_reopened(
    server: FakeSmtpServer, make_sender: Callable[..., SmtpSender]
) -> None:
    """A reused session answered 421 (server timed it out): a fresh session gets
    the message, without a policy retry."""
    sender = make_sender()
    dest = destination(sender)
    await dest.async_deliver(Notification(message="first"))
    server.script.mail.append("421 4.4.2 idle too long")

    result = await dest.async_deliver(Notification(message="second"))

    assert result.success and result.attempts == 1
    assert sender.stats.stale_reconnects == 1
    assert [m["Subject"] for m in server.messages()] == ["first", "second"]


async def test_concurrent_sends_to_one_server_are_bounded(
    server: FakeSmtpServer, make_sender: Callable[..., SmtpSender]
) -> None:
    """Eight at once with a bound of two: never more than two sessions or two
    messages in flight at the server, and all eight arrive."""
    server.script.data_delay = 0.05
    sender = make_sender(max_connections=2)
    dest = destination(sender)

    results = await asyncio.gather(
        *(dest.async_deliver(Notification(message=f"n{i}")) for i in range(8))
    )

    assert all(r.success for r in results)
    assert server.max_open == 2
    assert server.max_in_data == 2
    assert sender.stats.connections_opened == 2
    assert sorted(m["Subject"] for m in server.messages()) == [
        f"n{i}" for i in range(8)
    ]


async def test_unloaded_sender_refuses_and_closes_its_sessions(
    server: FakeSmtpServer, make_sender: Callable[..., SmtpSender]
) -> None:
    """async_close quits every session; a later send fails without connecting."""
    sender = make_sender()
    await destination(sender).async_deliver(Notification(message="x"))
    await sender.async_close()
    await asyncio.sleep(0.05)
    assert server.open_sessions == set()
    with pytest.raises(DeliveryError):
        await destination(sender).async_deliver(Notification(message="y"))
    assert server.sessions_started == 1


async def test_unreachable_server_is_transient(
    socket_enabled: None,
) -> None:
    """Nothing listens: a transient error (the policy retries and queues)."""
    async with FakeSmtpServer() as gone:
        settings = settings_for(gone)
    sender = SmtpSender(settings, tls_context=gone.certificate.client_context())  # type: ignore[union-attr]
    with pytest.raises(DeliveryError) as caught:
        await destination(sender).async_deliver(Notification(message="x"))
    assert not caught.value.permanent
    assert "cannot connect" in str(caught.value)


async def test_untrusted_certificate_fails_tls(
    server: FakeSmtpServer,
) -> None:
    """verify_tls on and a self-signed certificate: TLS fails, nothing is sent."""
    sender = SmtpSender(settings_for(server))  # the system CA store
    with pytest.raises(DeliveryError) as caught:
        await destination(sender).async_deliver(Notification(message="x"))
    assert "TLS failed" in str(caught.value)
    assert server.received == [] and server.auth_attempts == []
    await sender.async_close()

    lax = SmtpSender(settings_for(server, verify_tls=False))
    assert (await destination(lax).async_deliver(Notification(message="x"))).success
    await lax.async_close()


async def test_reply_timeout_after_the_body_is_unconfirmed_not_resent(
    server: FakeSmtpServer, make_sender: Callable[..., SmtpSender]
) -> None:
    """The server takes longer than we wait for its final reply (then stores the
    message): unconfirmed, no retry, so the recipient has it exactly once."""
    server.script.data_delay = 0.5
    dest = destination(make_sender(timeout=0.1, data_timeout=0.1))

    summary = await dispatch(fast_dispatcher(), dest, "slow server")

    result = summary.results[0]
    assert result.errors[0].startswith("unconfirmed") and result.attempts == 1
    assert not result.queued
    await asyncio.sleep(0.2)
    assert [m["Subject"] for m in server.messages()] == ["slow server"]


async def test_stalled_envelope_is_transient(
    server: FakeSmtpServer, make_sender: Callable[..., SmtpSender]
) -> None:
    """No answer to MAIL FROM within the timeout: nothing was sent, retry is safe."""
    sender = make_sender(timeout=0.2)
    dest = destination(sender)
    await dest.async_deliver(Notification(message="warm"))

    server.script.mail_delay = 1.0
    with pytest.raises(DeliveryError) as caught:
        await dest.async_deliver(Notification(message="stalled"))
    assert not caught.value.permanent
    assert [m["Subject"] for m in server.messages()] == ["warm"]


async def test_setup_check_opens_the_session_the_first_message_reuses(
    server: FakeSmtpServer, make_sender: Callable[..., SmtpSender]
) -> None:
    """async_check (for entry setup) logs in once; the first mail rides on it; a
    refused password raises the auth error there, before any notification."""
    sender = make_sender()
    await sender.async_check()
    await destination(sender).async_deliver(Notification(message="after setup"))
    assert sender.stats.connections_opened == 1 and server.sessions_started == 1

    refused = make_sender(settings_for(server, password="old"))
    with pytest.raises(EmailAuthError):
        await refused.async_check()
    assert refused.auth_failed
