"""The README's settings tables are made from the models."""

from pathlib import Path

from agenthost.settings import SETTING_NAMES, settings_table, with_settings_table

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_settings_table_is_generated_from_the_model():
    table = settings_table()
    assert all(f"| `{name}` |" in table for name in SETTING_NAMES)
    readme = README.read_text()
    assert with_settings_table(readme) == readme, "run: agenthost settings --readme README.md"
