"""Exit codes shared by every command."""

OK = 0
RECORDS_FAILED = 1  # the work ran, but some records were invalid or conflicts
USAGE = 2  # bad usage or configuration, or a resource could not be reached
