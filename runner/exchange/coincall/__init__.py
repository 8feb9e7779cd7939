"""The Coincall REST adapter: signing, HTTP transport, wire mapping, the port client."""
