"""Java versions: the major version a package's name gives, and the one `java -version` prints."""

from __future__ import annotations

import re

JAVA_MINIMUM = 17  # Jenkins 2.463 and later refuse agents on older Java
# A Java major version in a package name: openjdk-11-jre-headless, temurin-8-jdk, zulu11-jre,
# java-1.8.0-openjdk, java-11-amazon-corretto-jdk.
JAVA_PACKAGE = re.compile(r"(?:openjdk|temurin|zulu|java)-?(?:1\.)?(\d+)(?:[.-]|$)")


def java_package_major(package: str) -> int | None:
    """The Java major version a package's name gives, or None when the name does not say."""
    match = JAVA_PACKAGE.search(package)
    return int(match[1]) if match else None


def java_major(version_output: str) -> int | None:
    """The major version in `java -version` output: 17 for "17.0.9", 8 for "1.8.0_392"."""
    match = re.search(r'version "(?:1\.)?(\d+)', version_output)
    return int(match[1]) if match else None
