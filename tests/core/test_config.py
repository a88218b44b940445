import math

import pytest

from asem_core import ASEMConfig, ConfigError


def test_config_defaults_follow_the_literature():
    cfg = ASEMConfig()
    assert (cfg.k1, cfg.k2, cfg.delta, cfg.lam, cfg.alpha, cfg.q0) == (20, 5, 0.30, 0.40, 0.10, 0.50)


@pytest.mark.parametrize(("field", "value"), [("lam", 1.5), ("alpha", -0.1), ("k1", 0), ("k2", 2.5), ("delta", math.nan), ("fusion", "max"), ("q0", "high")])
def test_config_rejects_bad_values_naming_the_field(field, value):
    with pytest.raises(ConfigError, match=field):
        ASEMConfig(**{field: value})


def test_config_replace_rejects_unknown_fields():
    with pytest.raises(ConfigError, match="nope"):
        ASEMConfig().replace(nope=1)
