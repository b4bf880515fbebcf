"""Sources of raw interval payloads: files now, MQTT next. Each owns one resource."""
