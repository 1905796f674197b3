"""agenthost: pure logic and the command line behind the pyinfra deploy."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("agenthost")
except PackageNotFoundError:  # a clone used without installing it
    __version__ = "0+unknown"
