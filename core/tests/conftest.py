import pytest

from spikelayers import plugins


@pytest.fixture
def clean_registry():
    """Rediscover plugins before and after a test that registers its own."""
    plugins.reload()
    yield
    plugins._extra_plugins.clear()
    plugins.reload()
