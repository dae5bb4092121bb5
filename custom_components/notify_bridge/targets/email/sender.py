"""One `SmtpSender` per e-mail target: reused connections, a bound, and reauth.

Opening an SMTP session costs several round trips (greeting, EHLO, STARTTLS and its
handshake, EHLO again, AUTH); consecutive messages reuse an open session instead. An
unused session is closed after `idle_timeout`; one the server dropped meanwhile is
noticed on the next message, before anything was accepted, and that message goes out
once on a fresh session. At most `max_connections` messages are in flight to the
server at once (each on its own session: SMTP is one transaction at a time).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
import ssl

import aiosmtplib

from ...pipeline.log import get_logger
from ...pipeline.models import DeliveryError
from .settings import (
    DEFAULT_IDLE_TIMEOUT,
    DEFAULT_MAX_CONNECTIONS,
    DEFAULT_TIMEOUT,
    EmailSettings,
    Security,
    make_tls_context,
)
from .smtp import (
    DATA_END_TIMEOUT,
    EmailAuthError,
    OutgoingMail,
    Phase,
    Progress,
    SendReport,
    UnconfirmedError,
    async_open,
    async_transaction,
    classify,
    is_connection_problem,
    make_client,
)

_LOGGER = get_logger(__name__)
# Seconds a polite QUIT may take when a session is closed.
QUIT_TIMEOUT = 5.0


@dataclass(slots=True)
class SenderStats:
    """Counters for diagnostics, tests and the benchmark."""

    connections_opened: int = 0
    messages_accepted: int = 0
    stale_reconnects: int = 0


@dataclass(slots=True)
class _Session:
    client: aiosmtplib.SMTP
    timer: asyncio.TimerHandle | None = None


class _StaleSession(Exception):
    """A reused session failed before the server accepted anything."""

    def __init__(self, problem: DeliveryError) -> None:
        super().__init__(str(problem))
        self.problem = problem


class SmtpSender:
    """Sends serialized mails to one SMTP server over pooled sessions."""

    def __init__(
        self,
        settings: EmailSettings,
        *,
        tls_context: ssl.SSLContext | None = None,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
        idle_timeout: float = DEFAULT_IDLE_TIMEOUT,
        timeout: float = DEFAULT_TIMEOUT,
        data_timeout: float = DATA_END_TIMEOUT,
        local_hostname: str | None = None,
        on_auth_failed: Callable[[], None] | None = None,
    ) -> None:
        """`tls_context` None: built in an executor from `settings.verify_tls`;
        `on_auth_failed` runs (on the loop) once when the server refuses the login."""
        self.settings = settings
        self.stats = SenderStats()
        self.on_auth_failed = on_auth_failed
        self.auth_failed = False
        self._tls_context = tls_context
        self._slots = asyncio.Semaphore(max_connections)
        self._idle_timeout = idle_timeout
        self._timeout = timeout
        self._data_timeout = data_timeout
        self._local_hostname = local_hostname
        self._idle: list[_Session] = []
        self._closing: set[asyncio.Task[None]] = set()
        self._closed = False

    @property
    def idle_sessions(self) -> int:
        """Return how many open sessions wait for the next message."""
        return len(self._idle)

    async def async_send(self, mail: OutgoingMail) -> SendReport:
        """Send one mail; raise DeliveryError (EmailAuthError) or UnconfirmedError."""
        if self.auth_failed:
            # Every retry with a refused password risks a lockout (fail2ban).
            raise EmailAuthError("login refused earlier; waiting for a new password")
        if self._closed:
            raise DeliveryError("the e-mail target is unloaded")
        async with self._slots:
            session = self._take_idle()
            if session is not None:
                try:
                    return await self._send_on(session, mail, reused=True)
                except _StaleSession as stale:
                    _LOGGER.debug("Idle SMTP session was gone (%s)", stale.problem)
                    self.stats.stale_reconnects += 1
            session = await self._open()
            return await self._send_on(session, mail, reused=False)

    async def async_check(self) -> None:
        """Open a session (connect, TLS, login) and keep it for the next message."""
        async with self._slots:
            session = self._take_idle() or await self._open()
            self._release(session)

    async def async_close(self) -> None:
        """Close every session (politely) and wait until they are closed."""
        self._closed = True
        idle, self._idle = self._idle, []
        for session in idle:
            self._quit_later(session)
        if self._closing:
            await asyncio.gather(*list(self._closing), return_exceptions=True)

    # ---- sessions ----------------------------------------------------------------

    async def _open(self) -> _Session:
        context = await self._context()
        client = make_client(
            self.settings,
            tls_context=context,
            timeout=self._timeout,
            local_hostname=self._local_hostname,
        )
        progress = Progress()
        try:
            await async_open(client, self.settings, progress, context)
        except Exception as err:
            problem = classify(err, progress.phase)
            if isinstance(problem, UnconfirmedError):  # cannot happen before DATA
                problem = DeliveryError(str(problem))
            self._note(problem)
            raise problem from err
        # getfqdn ran once (in a thread); later sessions reuse the answer.
        self._local_hostname = client.local_hostname
        self.stats.connections_opened += 1
        return _Session(client)

    async def _context(self) -> ssl.SSLContext | None:
        if self.settings.security is Security.NONE:
            return None
        if self._tls_context is None:
            # Loading the CA store reads files: not on the event loop.
            self._tls_context = await asyncio.get_running_loop().run_in_executor(
                None, make_tls_context, self.settings.verify_tls
            )
        return self._tls_context

    def _take_idle(self) -> _Session | None:
        while self._idle:
            session = self._idle.pop()
            if session.timer is not None:
                session.timer.cancel()
            if session.client.is_connected:
                return session
            session.client.close()
        return None

    def _release(self, session: _Session) -> None:
        if self._closed or not session.client.is_connected:
            session.client.close()
            return
        loop = asyncio.get_running_loop()
        session.timer = loop.call_later(self._idle_timeout, self._expire, session)
        self._idle.append(session)

    def _expire(self, session: _Session) -> None:
        if session in self._idle:
            self._idle.remove(session)
            self._quit_later(session)

    def _quit_later(self, session: _Session) -> None:
        if session.timer is not None:
            session.timer.cancel()
        task = asyncio.get_running_loop().create_task(_quit(session.client))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    # ---- one message -------------------------------------------------------------

    async def _send_on(
        self, session: _Session, mail: OutgoingMail, *, reused: bool
    ) -> SendReport:
        progress = Progress()
        try:
            report = await async_transaction(
                session.client,
                mail,
                progress,
                command_timeout=self._timeout,
                data_timeout=self._data_timeout,
            )
        except asyncio.CancelledError:
            session.client.close()
            raise
        except Exception as err:
            await self._after_failure(session, err)
            problem = classify(err, progress.phase)
            if (
                reused
                and isinstance(problem, DeliveryError)
                and is_connection_problem(err)
                and progress.phase < Phase.BODY_SENT
            ):
                raise _StaleSession(problem) from err
            self._note(problem)
            if problem is err:  # already ours (decided before sending)
                raise
            raise problem from err
        self.stats.messages_accepted += 1
        self._release(session)
        return report

    async def _after_failure(self, session: _Session, err: Exception) -> None:
        """Keep a session the server only said no on (after RSET); close the rest."""
        client = session.client
        if is_connection_problem(err) or not client.is_connected:
            client.close()
            return
        try:
            await client.rset(timeout=self._timeout)
        except aiosmtplib.SMTPException, OSError:
            client.close()
            return
        self._release(session)

    def _note(self, problem: DeliveryError | UnconfirmedError) -> None:
        if isinstance(problem, EmailAuthError) and not self.auth_failed:
            self.auth_failed = True
            _LOGGER.warning(
                "SMTP server %s refused the login: %s", self.settings.host, problem
            )
            if self.on_auth_failed is not None:
                self.on_auth_failed()


async def _quit(client: aiosmtplib.SMTP) -> None:
    """Say QUIT (bounded), then close whatever happened."""
    try:
        async with asyncio.timeout(QUIT_TIMEOUT):
            await client.quit()
    except aiosmtplib.SMTPException, OSError:
        pass
    finally:
        client.close()
