"""Limits and defaults of the pipeline, in one place."""

from __future__ import annotations

# Each error kept in a summary is cut to this many characters.
MAX_ERROR_LENGTH = 300
# A summary keeps every error, up to this many (a fan-out to hundreds of
# destinations must not produce a megabyte bus event).
MAX_ERRORS_PER_SUMMARY = 50

# Wall-clock budget of one template render, in seconds.
RENDER_TIME_BUDGET = 1.0
# How many templates may render at once (each render runs in a worker thread).
MAX_CONCURRENT_RENDERS = 2
# Rendered output longer than this is cut (characters).
MAX_RENDER_OUTPUT = 32_768
# Compiled templates kept in the cache.
TEMPLATE_CACHE_SIZE = 256
# The largest string or sequence a template may build with * or ** (elements).
MAX_TEMPLATE_SEQUENCE = 100_000

# One process-wide cap on concurrent sends, whatever the destination.
MAX_CONCURRENT_SENDS = 8
# A safety net around one delivery, above the worst legitimate case (Telegram
# pacing in a busy group, 429 waits, a 50 MB upload). Not retried when hit: part
# of the notification may have gone out (seconds).
DELIVERY_TIMEOUT = 900.0

# Dispatch summaries kept for diagnostics.
DISPATCH_HISTORY = 50

# Delivery policy
# Notifications a destination keeps while quiet hours or an outage hold them back;
# beyond it the oldest are folded into a count shown in the digest.
MAX_PENDING_PER_DESTINATION = 500
# Transient failures are retried in line this many times in all...
RETRY_ATTEMPTS = 3
# ...with exponential backoff from this delay (seconds), jittered by ±20 %...
RETRY_BASE_DELAY = 1.0
RETRY_MAX_DELAY = 30.0
# ...within this wall-clock budget; then the notification waits in the outbox.
RETRY_BUDGET = 60.0
# A service's "retry after N s" (429) is honoured in line this many times per call,
# and only when N is at most the maximum; longer waits are left to the outbox.
RATE_LIMIT_RETRIES = 5
MAX_RETRY_AFTER = 120.0
# The outbox is retried after this long, doubling per failure up to the maximum.
OUTBOX_RETRY_DELAY = 30.0
OUTBOX_MAX_RETRY_DELAY = 600.0
# Media bytes kept in memory for waiting notifications, all destinations together;
# beyond it (and after a restart) only URLs and upload-cache identities are kept.
MAX_PENDING_MEDIA_BYTES = 64 * 1024 * 1024
# A digest shows the newest messages of a route, up to this many.
DIGEST_MESSAGES = 5
# Coalesced events carry at most this many media items ("and N more" for the rest).
MAX_COALESCED_MEDIA = 10
# A backlog above this raises a repair issue.
BACKLOG_REPAIR_THRESHOLD = 100
