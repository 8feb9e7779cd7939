"""Market data pushed over Coincall's WebSocket (issue 11 item 2).

`prices` is the thread-safe cache the pushes land in and the snapshot reads from while it is
fresh; `messages` turns the documented frames into cache entries; `connection` keeps one
socket alive (heartbeats, reconnect with backoff, resubscribe); `source` is the exchange
port seen through the cache (fresh pushed prices, else REST); `reaction` wakes the service
loop between ticks when a pushed price makes an exit due.
"""
