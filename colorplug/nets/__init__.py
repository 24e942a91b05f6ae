"""The colorization networks: registry, building blocks, architectures and their weights files."""
