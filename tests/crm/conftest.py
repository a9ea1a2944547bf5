"""The CRM tests' marker: ``slow`` for the one test that plans (deselect with -m "not slow")."""


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: plans with the solver (seconds, not milliseconds)")
