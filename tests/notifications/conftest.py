"""The notifications tests seal secrets with a key of their own (never a key file under the working directory)."""
import pytest


@pytest.fixture(autouse=True)
def data_key(monkeypatch):
    monkeypatch.setenv("MPPI_DATA_KEY", "test-data-key")
    return "test-data-key"
