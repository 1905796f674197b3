"""One concern per module, each a @deploy function taking the host's validated Settings."""
