"""Which shared requests get in: the token check, and slowing down an address that guesses.

A request path must start with `/TOKEN`; the check is constant-time (`hmac.compare_digest`), so
timing tells nothing about how much of a guess was right. Anything else is a 404, the same as a
missing file, so a prober learns nothing. Each address gets a few wrong requests free (a typo,
a stale bookmark); after that each further one waits twice as long as the last, up to a cap,
before its 404 is sent. The count is forgotten after a quiet spell. Waiting costs the server a
sleeping thread, nothing else, and requests with the right token are never slowed. The token's
128 bits are the real protection; the delay only makes guessing visibly pointless.
"""

from __future__ import annotations

import hmac
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

# Asked for by browsers on their own (not by someone guessing): never counted as wrong tokens.
AUTOMATIC = ("favicon.ico", "robots.txt", "apple-touch-icon")


@dataclass(frozen=True)
class Verdict:
    rest: str | None  # the path after the token ('' for '/TOKEN' itself); None: refused
    delay_s: float = 0.0  # how long to wait before refusing


@dataclass(frozen=True)
class GateRules:
    free_failures: int = 5
    first_delay_s: float = 0.5
    max_delay_s: float = 8.0
    forget_after_s: float = 600.0
    max_addresses: int = 4096  # memory bound: the oldest address is forgotten first


def delay_after(failures: int, rules: GateRules) -> float:
    """Seconds to wait before answering an address's `failures`-th wrong request."""
    over = failures - rules.free_failures
    if over <= 0:
        return 0.0
    return min(rules.max_delay_s, rules.first_delay_s * 2.0 ** min(over - 1, 30))


class Gate:
    """The token check with a per-address failure count (thread-safe)."""

    def __init__(
        self,
        token: str,
        rules: GateRules = GateRules(),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._token = token.encode("ascii")
        self._rules = rules
        self._clock = clock
        self._lock = threading.Lock()
        self._failures: OrderedDict[str, tuple[int, float]] = OrderedDict()

    @property
    def prefix(self) -> str:
        return "/" + self._token.decode("ascii")

    def check(self, address: str, path: str) -> Verdict:
        """`path` is the raw request path (no query); `address` the client's IP."""
        first, slash, rest = path.removeprefix("/").partition("/")
        if hmac.compare_digest(first.encode("utf-8", "replace"), self._token):
            return Verdict(rest=slash + rest)
        if not slash and first.startswith(AUTOMATIC):
            return Verdict(rest=None)
        return Verdict(rest=None, delay_s=delay_after(self._fail(address), self._rules))

    def failures(self, address: str) -> int:
        with self._lock:
            count, last = self._failures.get(address, (0, 0.0))
            return count if self._clock() - last <= self._rules.forget_after_s else 0

    def _fail(self, address: str) -> int:
        now = self._clock()
        with self._lock:
            count, last = self._failures.pop(address, (0, now))
            count = 1 if now - last > self._rules.forget_after_s else count + 1
            self._failures[address] = (count, now)
            while len(self._failures) > self._rules.max_addresses:
                self._failures.popitem(last=False)
            return count
