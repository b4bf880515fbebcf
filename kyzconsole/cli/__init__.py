"""The command line: `kyzconsole COMMAND`. Uses the engine; never talks to pyodbc itself."""
