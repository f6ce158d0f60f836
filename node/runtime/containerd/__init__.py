"""The containerd a node agent starts and supervises: its config, process and teardown."""
