"""Ship the top-level templates/, static/, migrations/ and translations/ inside the wheel.

They stay at the top of the source tree (the layout is part of the design); a built wheel
carries them as dnc_app/templates/, dnc_app/static/, dnc_app/migrations/ and
dnc_app/translations/ (the compiled .mo catalogues are committed), where
dnc_app.config.resource_dir finds them. Everything else is in pyproject.toml.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

RESOURCES = ("templates", "static", "migrations", "translations")


class BuildPyWithResources(build_py):
    def run(self):
        super().run()
        if self.editable_mode:
            return  # an editable install serves them from the source tree
        for name in RESOURCES:
            target = Path(self.build_lib) / "dnc_app" / name
            # Start clean: a file deleted from the tree must not linger in build/.
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(name, target,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))


setup(cmdclass={"build_py": BuildPyWithResources})
