"""The shipped weights files and their manifest (data only; read by colorplug.nets.weights)."""
