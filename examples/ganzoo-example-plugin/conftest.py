pytest_plugins = ["ganzoo.testing"]  # ganzoo's test kit: the ganzoo_host fixture
