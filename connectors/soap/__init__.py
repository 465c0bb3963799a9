"""SOAP: the connector to agencies' WSDL services (`connector`), zeep's transport on the
outbound HTTP client (`transport`), the service Lianxin hosts for agencies (`server`), and
the envelope XML both sides share (`xml`)."""
