"""agenthost: pure logic and the command line behind the pyinfra deploy."""
