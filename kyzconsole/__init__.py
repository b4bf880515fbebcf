"""kyzconsole: KYZ meter intervals from MQTT into SQL, exactly once."""

__version__ = "0.1.0"
