"""Training a network: the configuration, data, losses, the loop, checkpoints, logs and the manifest entry."""
