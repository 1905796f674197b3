"""Every agenthost setting, declared once: type, default and a one-line doc.

Values come from pyinfra host data (inventory files, group_data/*.py) and from
group_data/*.yaml, read by agenthost.hostdata, which validates every host before any is touched.
By job: the host's settings (model), an agent container's (container), an agent image build's
and its pins (image), Java versions (java), loading from host data (loading), the README's
table (readme).
"""

from agenthost.credentials import has_credentials, redact
from agenthost.settings.container import AgentContainer
from agenthost.settings.image import AGENT_IMAGE_PACKAGES, AgentImageBuild
from agenthost.settings.java import JAVA_MINIMUM, java_major, java_package_major
from agenthost.settings.loading import SettingsError, split_data, validate
from agenthost.settings.model import SETTING_NAMES, Settings
from agenthost.settings.readme import (
    TABLE_END,
    TABLE_START,
    settings_table,
    with_settings_table,
)

__all__ = [
    "AGENT_IMAGE_PACKAGES", "JAVA_MINIMUM", "SETTING_NAMES", "TABLE_END", "TABLE_START",
    "AgentContainer", "AgentImageBuild", "Settings", "SettingsError", "has_credentials",
    "java_major", "java_package_major", "redact", "settings_table", "split_data", "validate",
    "with_settings_table",
]  # fmt: skip
