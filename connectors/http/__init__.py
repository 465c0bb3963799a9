"""HTTP towards agencies: the one outbound client (aiohttp) and the REST connector.

`client` is the client REST, SOAP and portals share (mutual TLS, proxies, idle expiry,
a response size cap, a total deadline per call); `errors` is the one place that says what
an HTTP answer or a failed exchange means for a delivery; `rest` is the REST connector.
"""
