"""Coincall JSON <-> domain types: the only place in the code that knows camelCase field names.

Split by subject: `fields` (typed, endpoint-naming readers), `market`, `orders`,
`account`, `rfq`. Every parser raises `MalformedResponse` naming the endpoint and the
field on a payload it cannot read; none lets a KeyError or TypeError escape.
"""
