"""The engine: a network loaded from its weights, and the Colorizer that runs it on photos."""
