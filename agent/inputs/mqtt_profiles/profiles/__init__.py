"""Built-in device profiles (data files): one YAML file per device type."""
