"""Real servers the tests start for themselves on free loopback ports."""
