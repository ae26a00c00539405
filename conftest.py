pytest_plugins = ["jembatan_kit.testing.fixtures"]
