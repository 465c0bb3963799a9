"""MQTT: the connector to utilities through the broker (`connector`) and its pure half,
one utility's resolved options, topics and envelope (`options`)."""
